import { Counter, Gauge, type Registry } from 'prom-client';
import { type EssState, UNIT_RESULTS } from '../readers/state-file.js';
import { optionalCounter, optionalGauge } from './optional-metric.js';

/**
 * What the controller recorded in state.json (contract/README.md section 3). The controller keeps the
 * totals; the counters only mirror the last state file read successfully.
 */
export function registerStateFileMetrics(registry: Registry, state: () => EssState | null): void {
  const registers = [registry];
  registerLastActivationMetrics(registry, state);
  optionalGauge(registry, 'ess_last_deactivation_timestamp_seconds', 'Unix time of the last deactivation.', () => state()?.lastDeactivationTime);
  optionalGauge(
    registry,
    'ess_last_tamper_timestamp_seconds',
    'Unix time the controller last found the latch tampered with (flag removed outside it while the persisted latch said latched).',
    () => state()?.lastTamperTime,
  );

  new Counter({
    name: 'ess_activations_total',
    help: 'Activations recorded by the ESS controller, by the source that requested them.',
    labelNames: ['source'] as const,
    registers,
    collect() {
      this.reset();
      for (const [source, count] of Object.entries(state()?.activationsTotal ?? {})) this.inc({ source }, count);
    },
  });
  optionalCounter(
    registry,
    'ess_tamper_events_total',
    'Times the controller found the latch tampered with.',
    () => state()?.tamperTotal,
  );
  optionalCounter(
    registry,
    'ess_leftover_kills_total',
    'Times an activation found processes left in the cgroup of a stopped trading unit and SIGKILLed them.',
    () => state()?.leftoverKillsTotal,
  );
}

/** The last activation: when, how fast, and what it did to each trading unit. */
function registerLastActivationMetrics(registry: Registry, state: () => EssState | null): void {
  const registers = [registry];
  optionalGauge(
    registry,
    'ess_last_activation_latency_seconds',
    'Seconds from trigger to all trading units stopped in the last activation; absent if they did not all stop.',
    () => state()?.lastActivation?.latencySeconds,
  );
  optionalGauge(registry, 'ess_last_activation_timestamp_seconds', 'Unix time the last activation was triggered.', () => state()?.lastActivation?.triggerTime);
  optionalGauge(
    registry,
    'ess_last_activation_all_stopped',
    'Whether every trading unit stopped in the last activation (1) or not (0).',
    () => {
      const activation = state()?.lastActivation;
      return activation && (activation.latencySeconds === null ? 0 : 1);
    },
  );
  new Gauge({
    name: 'ess_last_activation_unit_result',
    help: 'What the last activation did to each trading unit: 1 on its result (stopped, killed, leftovers-killed, already-inactive, not-found, not-stopped, exempt), 0 on the others.',
    labelNames: ['unit', 'result'] as const,
    registers,
    collect() {
      this.reset();
      for (const { unit, result: current } of state()?.lastActivation?.units ?? []) {
        for (const result of UNIT_RESULTS) this.set({ unit, result }, result === current ? 1 : 0);
      }
    },
  });
}
