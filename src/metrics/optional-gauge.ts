import { Gauge, type Registry } from 'prom-client';

/**
 * A label-less gauge that is absent from the output while its value is unknown. prom-client renders an
 * unset label-less gauge as 0, which would claim "activated at 1970 in 0 s" on a host that never
 * activated, or "all stopped" when the reads are failing.
 */
export class OptionalGauge extends Gauge {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly read: () => number | null | undefined,
  ) {
    super({ name, help, registers: [registry] });
  }

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    const value = this.read();
    return { ...metric, values: value == null ? [] : [{ value, labels: {} }] };
  }
}
