import type { Registry } from 'prom-client';
// prom-client's own process collectors, one by one: collectDefaultMetrics() would also start the
// nodejs_* ones, among them an event loop monitor sampling every 10 ms, for as long as the exporter
// runs (CPU the exporter's budget has no room for).
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';

/**
 * The process_* metrics every Prometheus exporter has (CPU seconds, resident and virtual memory, open
 * and maximum file descriptors, start time), read from /proc/self at each scrape, in the app's registry.
 */
export function registerProcessMetrics(registry: Registry): void {
  for (const collector of [processCpuTotal, processStartTime, osMemoryHeap, processOpenFileDescriptors, processMaxFileDescriptors]) {
    collector(registry, {});
  }
}
