import { Counter, Gauge, Registry } from 'prom-client';
import type { BuildInfo } from '../build-info.js';
import type { DrillRecord } from '../readers/drill-file.js';
import type { Exemption } from '../readers/exemptions.js';
import { READ_SOURCES, type ReadHealth } from '../readers/read-health.js';
import type { EssState } from '../readers/state-file.js';
import { UNIT_STATES, type UnitStatus } from '../readers/systemctl-show.js';
import type { LatchView } from '../verdict/observed-verdict.js';
import { registerDrillMetrics } from './drill-metrics.js';
import { registerExemptionMetrics } from './exemption-metrics.js';
import { registerLatchMetrics } from './latch-metrics.js';
import { registerStateMetrics } from './state-metrics.js';

/** `switch`: the ESS's own path and trigger units, which arm the kill switch. */
export type UnitRole = 'trading' | 'monitor' | 'switch';

export interface ConfiguredUnit {
  readonly unit: string;
  readonly role: UnitRole;
}

/** Last known values; every metric is rendered from these at scrape time. */
export interface MetricSources {
  readonly units: readonly ConfiguredUnit[];
  readonly buildInfo: BuildInfo;
  readonly health: ReadHealth;
  latch(): LatchView;
  state(): EssState | null;
  unitStatuses(): ReadonlyMap<string, UnitStatus> | null;
  /** Maintenance exemptions in force now, by trading unit; null before the first read. */
  exemptions(): ReadonlyMap<string, Exemption> | null;
  drill(): DrillRecord | null;
}

/** A Registry of its own per exporter instance, so that instances (and tests) never share values. */
export function createMetricsRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  const registers = [registry];

  registerLatchMetrics(registry, () => sources.latch());

  new Gauge({
    name: 'ess_unit_state',
    help: 'Current state of each configured unit: 1 on the current state, 0 on the others; all 0 while never read.',
    labelNames: ['unit', 'role', 'state'] as const,
    registers,
    collect() {
      const statuses = sources.unitStatuses();
      for (const { unit, role } of sources.units) {
        const current = statuses?.get(unit)?.state;
        for (const state of UNIT_STATES) this.set({ unit, role, state }, state === current ? 1 : 0);
      }
    },
  });

  registerStateMetrics(registry, () => sources.state());
  registerExemptionMetrics(
    registry,
    sources.units.filter(({ role }) => role === 'trading').map(({ unit }) => unit),
    () => sources.exemptions(),
  );
  registerDrillMetrics(registry, () => sources.drill());

  const info = new Gauge({
    name: 'ess_build_info',
    help: 'Version of the ESS exporter and of the Node.js running it; always 1.',
    labelNames: ['version', 'nodejs_version'] as const,
    registers,
  });
  info.set({ version: sources.buildInfo.version, nodejs_version: sources.buildInfo.nodejsVersion }, 1);

  new Gauge({
    name: 'ess_exporter_read_ok',
    help: 'Whether the latest read of each source worked (1) or failed and last known values are served (0).',
    labelNames: ['source'] as const,
    registers,
    collect() {
      for (const source of READ_SOURCES) this.set({ source }, sources.health.get(source).ok ? 1 : 0);
    },
  });

  new Counter({
    name: 'ess_exporter_read_errors_total',
    help: 'Failed reads of each source (flag, state file, systemctl, busctl, cgroups, latch markers and exemptions, drill record) since the exporter started.',
    labelNames: ['source'] as const,
    registers,
    collect() {
      this.reset();
      for (const source of READ_SOURCES) this.inc({ source }, sources.health.get(source).errors);
    },
  });

  return registry;
}
