import { Counter, Gauge, type Registry } from 'prom-client';

/** The current value, or null/undefined while it is unknown. */
export type OptionalValue = () => number | null | undefined;

type Snapshot = Awaited<ReturnType<Gauge['get']>>;

function withValue(snapshot: Snapshot, value: number | null | undefined): Snapshot {
  return { ...snapshot, values: value == null ? [] : [{ value, labels: {} }] };
}

/**
 * A label-less gauge that is absent from the output while its value is unknown. prom-client renders an
 * unset label-less gauge as 0, which would claim "activated at 1970 in 0 s" on a host that never
 * activated, or "all stopped" when the reads are failing.
 */
export class OptionalGauge extends Gauge {
  readonly #read: OptionalValue;

  constructor(registry: Registry, name: string, help: string, read: OptionalValue) {
    super({ name, help, registers: [registry] });
    this.#read = read;
  }

  override async get(): Promise<Snapshot> {
    return withValue(await super.get(), this.#read());
  }
}

/**
 * A label-less counter mirroring a total the controller keeps, absent while unknown. Born at 0 and
 * then jumping to the real total once the file is readable, it would look like a burst of events to
 * increase(); a series that starts at the real total does not.
 */
export class OptionalCounter extends Counter {
  readonly #read: OptionalValue;

  constructor(registry: Registry, name: string, help: string, read: OptionalValue) {
    super({ name, help, registers: [registry] });
    this.#read = read;
  }

  override async get(): Promise<Snapshot> {
    return withValue(await super.get(), this.#read());
  }
}
