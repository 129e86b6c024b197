import { Counter, Gauge, type Registry } from 'prom-client';
import { READ_SOURCES, type ReadHealth } from '../readers/read-health.js';

/** The exporter's own reads: without these a failing source would only show as stale values. */
export function registerReadHealthMetrics(registry: Registry, health: ReadHealth): void {
  const registers = [registry];

  new Gauge({
    name: 'ess_exporter_read_ok',
    help: 'Whether the latest read of each source worked (1) or failed and last known values are served (0).',
    labelNames: ['source'] as const,
    registers,
    collect() {
      for (const source of READ_SOURCES) this.set({ source }, health.get(source).ok ? 1 : 0);
    },
  });

  new Counter({
    name: 'ess_exporter_read_errors_total',
    help: 'Failed reads of each source (flag, state file, systemctl, busctl, cgroups, latch markers and exemptions, drill record) since the exporter started.',
    labelNames: ['source'] as const,
    registers,
    collect() {
      // ReadHealth keeps the totals; the counter mirrors them at scrape time.
      this.reset();
      for (const source of READ_SOURCES) this.inc({ source }, health.get(source).errors);
    },
  });
}
