import { Counter, Gauge, type Registry } from 'prom-client';

/** The current value, or null/undefined while it is unknown. */
export type OptionalValue = () => number | null | undefined;

/** Renders the metric from read() at each scrape, with no sample at all while read() has no value. */
function absentWhileUnknown<M extends Gauge | Counter>(metric: M, read: OptionalValue): M {
  const render = metric.get.bind(metric);
  metric.get = async () => {
    const snapshot = await render();
    const value = read();
    return { ...snapshot, values: value == null ? [] : [{ value, labels: {} }] };
  };
  return metric;
}

/**
 * A label-less gauge that is absent from the output while its value is unknown. prom-client renders an
 * unset label-less gauge as 0, which would claim "activated at 1970 in 0 s" on a host that never
 * activated, or "all stopped" when the reads are failing.
 */
export function optionalGauge(registry: Registry, name: string, help: string, read: OptionalValue): Gauge {
  return absentWhileUnknown(new Gauge({ name, help, registers: [registry] }), read);
}

/**
 * A label-less counter mirroring a total the controller keeps, absent while unknown. Born at 0 and
 * then jumping to the real total once the file is readable, it would look like a burst of events to
 * increase(); a series that starts at the real total does not.
 */
export function optionalCounter(registry: Registry, name: string, help: string, read: OptionalValue): Counter {
  return absentWhileUnknown(new Counter({ name, help, registers: [registry] }), read);
}
