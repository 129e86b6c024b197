import { Gauge, type Registry } from 'prom-client';
import { WATCHDOG_CHECK_STALE_SEC, type WatchdogStatus } from '../readers/watchdog-status.js';
import { optionalGauge } from './optional-metric.js';

const ACTIONS = ['off', 'alert', 'trip'] as const;

/** The root side's last judgement, and whether it is recent enough to be believed. */
export interface WatchdogView {
  readonly current: () => WatchdogStatus | null;
  readonly stale: () => boolean;
}

/** The dead man's switch: its configuration (ess.conf) and the root side's last judgement (watchdog.json). */
export function registerWatchdogStatusMetrics(
  registry: Registry,
  config: { readonly action: string; readonly maxSilenceSec: number },
  view: WatchdogView,
): void {
  optionalGauge(registry, 'ess_watchdog_max_silence_seconds', 'WATCHDOG_MAX_SILENCE_SEC: how long the heartbeat may be silent before the watchdog acts.', () => config.maxSilenceSec);
  const action = new Gauge({
    name: 'ess_watchdog_action',
    help: 'WATCHDOG_ACTION: 1 on what the dead man\'s switch does when the heartbeat is silent (off, alert, trip).',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  for (const word of ACTIONS) action.set({ action: word }, word === config.action ? 1 : 0);
  // a stale record's "fresh" is not believed: silent is unknown then, and the stale gauge says why
  const believed = (): WatchdogStatus | null => (view.stale() ? null : view.current());
  optionalGauge(
    registry,
    'ess_watchdog_silent',
    "1 when the root side's last watchdog check found no heartbeat for longer than the limit (it alerted or tripped), 0 otherwise; absent while it has not checked recently (WATCHDOG_ACTION=off, or ess_watchdog_check_stale 1).",
    () => {
      const current = believed();
      return current === null ? undefined : current.state === 'silent' ? 1 : 0;
    },
  );
  optionalGauge(
    registry,
    'ess_watchdog_check_stale',
    `1 when WATCHDOG_ACTION is not off and the root side's last watchdog check is more than ${WATCHDOG_CHECK_STALE_SEC} s old on the uptime clock, or there is none (quantum-ess-watchdog.timer stopped, /run full): the switch is not looking; 0 otherwise; absent with WATCHDOG_ACTION=off.`,
    () => (config.action === 'off' ? undefined : view.stale() ? 1 : 0),
  );
  optionalGauge(
    registry,
    'ess_watchdog_paused_until_timestamp_seconds',
    'Unix time a `watchdog pause` ends; 0 when not paused; absent while the root side has not checked.',
    () => view.current()?.paused_until,
  );
}
