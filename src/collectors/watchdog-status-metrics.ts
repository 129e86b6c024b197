import { Gauge, type Registry } from 'prom-client';
import type { WatchdogStatus } from '../readers/watchdog-status.js';
import { optionalGauge } from './optional-metric.js';

const ACTIONS = ['off', 'alert', 'trip'] as const;

/** The dead man's switch: its configuration (ess.conf) and the root side's last judgement (watchdog.json). */
export function registerWatchdogStatusMetrics(
  registry: Registry,
  config: { readonly action: string; readonly maxSilenceSec: number },
  status: () => WatchdogStatus | null,
): void {
  optionalGauge(registry, 'ess_watchdog_max_silence_seconds', 'WATCHDOG_MAX_SILENCE_SEC: how long the heartbeat may be silent before the watchdog acts.', () => config.maxSilenceSec);
  const action = new Gauge({
    name: 'ess_watchdog_action',
    help: 'WATCHDOG_ACTION: 1 on what the dead man\'s switch does when the heartbeat is silent (off, alert, trip).',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  for (const word of ACTIONS) action.set({ action: word }, word === config.action ? 1 : 0);
  optionalGauge(
    registry,
    'ess_watchdog_silent',
    "1 when the root side's last watchdog check found no heartbeat for longer than the limit (it alerted or tripped), 0 otherwise; absent while it has not checked (WATCHDOG_ACTION=off).",
    () => {
      const current = status();
      return current === null ? undefined : current.state === 'silent' ? 1 : 0;
    },
  );
  optionalGauge(
    registry,
    'ess_watchdog_paused_until_timestamp_seconds',
    'Unix time a `watchdog pause` ends; 0 when not paused; absent while the root side has not checked.',
    () => status()?.paused_until,
  );
}
