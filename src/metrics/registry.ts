import { Counter, Gauge, Registry } from 'prom-client';
import type { BuildInfo } from '../build-info.js';
import { READ_SOURCES, type ReadHealth } from '../readers/read-health.js';
import type { EssState } from '../readers/state-file.js';
import { isRunning, UNIT_STATES, type UnitStatus } from '../readers/systemctl-show.js';
import { OptionalGauge } from './optional-gauge.js';

/** `switch`: the ESS's own path units; while one of them is not active the kill switch is disarmed. */
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
  flagPresent(): boolean | null;
  state(): EssState | null;
  unitStatuses(): ReadonlyMap<string, UnitStatus> | null;
}

/** A Registry of its own per exporter instance, so that instances (and tests) never share values. */
export function createMetricsRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  const registers = [registry];

  new OptionalGauge(registry, 'ess_active', 'Whether the ESS latch flag exists (1) or not (0).', () =>
    flagValue(sources.flagPresent()),
  );

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

  new OptionalGauge(
    registry,
    'ess_latch_violation',
    'Number of trading units running, starting or stopping while the latch flag exists.',
    () => {
      const flag = sources.flagPresent();
      if (flag === false) return 0;
      const statuses = sources.unitStatuses();
      if (flag === null || statuses === null) return null;
      return sources.units.filter(({ unit, role }) => {
        const status = statuses.get(unit);
        return role === 'trading' && status !== undefined && isRunning(status.state);
      }).length;
    },
  );

  new OptionalGauge(
    registry,
    'ess_switch_armed',
    'Whether every ESS path unit (flag watcher, trip-request watcher) is active (1) or the switch is disarmed (0).',
    () => {
      const statuses = sources.unitStatuses();
      if (statuses === null) return null;
      return Number(sources.units.every(({ unit, role }) => role !== 'switch' || statuses.get(unit)?.state === 'active'));
    },
  );

  new OptionalGauge(
    registry,
    'ess_last_activation_latency_seconds',
    'Seconds from trigger to all trading units stopped in the last activation; absent if they did not all stop.',
    () => sources.state()?.lastActivation?.latencySeconds,
  );
  new OptionalGauge(
    registry,
    'ess_last_activation_timestamp_seconds',
    'Unix time the last activation was triggered.',
    () => sources.state()?.lastActivation?.triggerTime,
  );
  new OptionalGauge(
    registry,
    'ess_last_activation_all_stopped',
    'Whether every trading unit stopped in the last activation (1) or not (0).',
    () => {
      const activation = sources.state()?.lastActivation;
      return activation && (activation.latencySeconds === null ? 0 : 1);
    },
  );
  new OptionalGauge(
    registry,
    'ess_last_deactivation_timestamp_seconds',
    'Unix time of the last deactivation.',
    () => sources.state()?.lastDeactivationTime,
  );

  new Counter({
    name: 'ess_activations_total',
    help: 'Activations recorded by the ESS controller, by the source that requested them.',
    labelNames: ['source'] as const,
    registers,
    collect() {
      // The controller keeps the totals; this only mirrors the last state file read successfully.
      this.reset();
      for (const [source, count] of Object.entries(sources.state()?.activationsTotal ?? {})) this.inc({ source }, count);
    },
  });

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
    help: 'Failed reads of each source (flag, state file, systemctl) since the exporter started.',
    labelNames: ['source'] as const,
    registers,
    collect() {
      this.reset();
      for (const source of READ_SOURCES) this.inc({ source }, sources.health.get(source).errors);
    },
  });

  return registry;
}

function flagValue(present: boolean | null): number | null {
  return present === null ? null : Number(present);
}
