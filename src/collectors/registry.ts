// One collector per file, named after its source (readers/X.ts -> collectors/X-metrics.ts, as in node_exporter), so a metric changes beside the reading it renders.
import type { Registry } from 'prom-client';
import type { BuildInfo } from '../io/build-info.js';
import type { DrillRecord } from '../readers/drill-file.js';
import type { Exemption } from '../readers/exemptions.js';
import type { ReadHealth } from '../readers/read-health.js';
import type { EssState } from '../readers/state-file.js';
import type { UnitStatus } from '../readers/unit-status.js';
import type { UnitStatesView } from '../readers/unit-states.js';
import type { LatchView } from '../verdict/observed-verdict.js';
import { registerBuildInfoMetric } from './build-info-metrics.js';
import { registerDrillMetrics } from './drill-file-metrics.js';
import { registerProcessMetrics } from './process-metrics.js';
import { registerExemptionMetrics } from './exemptions-metrics.js';
import { registerReadHealthMetrics } from './read-health-metrics.js';
import { registerStateFileMetrics } from './state-file-metrics.js';
import { type ConfiguredUnit, registerUnitStatusMetrics } from './unit-status-metrics.js';
import { registerUnitStatesMetrics } from './unit-states-metrics.js';
import { registerVerdictMetrics } from './verdict-metrics.js';

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
  /** Where the unit states come from, their age and the transitions seen. */
  readonly unitStates: UnitStatesView;
}

/**
 * The observer's collectors, into the app's own Registry (never prom-client's global one, so that
 * instances and tests never share values). The order is the order of the /metrics output.
 */
export function registerCollectors(registry: Registry, sources: MetricSources): void {
  registerVerdictMetrics(registry, () => sources.latch());
  registerUnitStatusMetrics(registry, sources.units, () => sources.unitStatuses());
  registerStateFileMetrics(registry, () => sources.state());
  registerExemptionMetrics(
    registry,
    sources.units.filter(({ role }) => role === 'trading').map(({ unit }) => unit),
    () => sources.exemptions(),
  );
  registerDrillMetrics(registry, () => sources.drill());
  registerBuildInfoMetric(registry, sources.buildInfo);
  registerProcessMetrics(registry);
  registerReadHealthMetrics(registry, sources.health);
  registerUnitStatesMetrics(registry, sources.units, sources.unitStates);
}
