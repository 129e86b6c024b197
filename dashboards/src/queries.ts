/**
 * Every PromQL expression the ESS dashboard runs. Kept apart from the panel layout so that an
 * integration test can run each one against a real Prometheus (see `toRunnableQuery`).
 */

import { VERDICT_EXIT_CODES } from '../../src/verdict/latch-verdict.js';

export const ESS_JOB = 'quantum-ess';

/** Grafana's own variables in these expressions; `toRunnableQuery` substitutes them. */
const ESS = `job="${ESS_JOB}", instance=~"$instance"`;

/**
 * ess_unit_state has one series per state; the state timeline needs one series per unit whose
 * value names the state. Each state gets a code, and exactly one term is 1 for a read unit, so the
 * sum is that code (0 = never read).
 */
export const UNIT_STATE_CODES = [
  ['active', 1],
  ['activating', 2],
  ['deactivating', 3],
  ['inactive', 4],
  ['failed', 5],
  ['not-found', 6],
  ['masked', 7],
] as const;

const unitStateCode = UNIT_STATE_CODES.map(
  ([state, code]) => `sum by (instance, role, unit) (ess_unit_state{${ESS}, state="${state}"}) * ${code}`,
).join('\n+ ');

/**
 * ess_verdict has one series per word; the verdict stat needs one value per host. Each word counts
 * as its exit code of `ess_controller.sh status` (armed 0), so the sum is the current one's code.
 */
const verdictCode = Object.entries(VERDICT_EXIT_CODES)
  .map(([verdict, code]) => `sum by (instance) (ess_verdict{${ESS}, verdict="${verdict}"}) * ${code}`)
  .join('\n+ ');

export const QUERIES = {
  essActive: `ess_active{${ESS}}`,
  verdict: verdictCode,
  switchArmed: `ess_switch_armed{${ESS}}`,
  latchViolation: `ess_latch_violation{${ESS}}`,
  exporterUp: `up{${ESS}}`,
  lastActivationTime: `ess_last_activation_timestamp_seconds{${ESS}} * 1000`,
  lastDeactivationTime: `ess_last_deactivation_timestamp_seconds{${ESS}} * 1000`,
  unitState: unitStateCode,
  unitGuarded: `ess_unit_guarded{${ESS}}`,
  unitCgroupPopulated: `ess_unit_cgroup_populated{${ESS}}`,
  // Only units with an exemption in force (0 means none), in ms for Grafana's date units.
  exemptUntil: `ess_unit_exempt_until_seconds{${ESS}} * 1000 > 0`,
  // `max by` drops __name__ and job, so the two tables of the last drill merge on instance and mode.
  lastDrillTime: `max by (instance, mode) (ess_last_drill_timestamp_seconds{${ESS}}) * 1000`,
  lastDrillSuccess: `max by (instance, mode) (ess_last_drill_success{${ESS}})`,
  sinceLastDrillPass: `time() - max by (instance) (ess_last_drill_pass_timestamp_seconds{${ESS}})`,
  // The dead man's switch: how old the newest heartbeat is against its limit, what it does, pauses.
  heartbeatAge: `time() - max by (instance) (ess_watchdog_last_heartbeat_timestamp_seconds{${ESS}})`,
  watchdogLimit: `max by (instance) (ess_watchdog_max_silence_seconds{${ESS}})`,
  watchdogAction: `max by (instance, action) (ess_watchdog_action{${ESS}}) == 1`,
  watchdogSilent: `max by (instance) (ess_watchdog_silent{${ESS}})`,
  watchdogPausedUntil: `max by (instance) (ess_watchdog_paused_until_timestamp_seconds{${ESS}}) * 1000 > 0`,
  // On-trip actions: the result word of each action's last run (the series at 1), and how long it took.
  actionLastResult: `max by (instance, action, result) (ess_action_last_result{${ESS}}) == 1`,
  actionDuration: `ess_action_duration_seconds{${ESS}}`,
  tamperEvents: `sum(increase(ess_tamper_events_total{${ESS}}[$__rate_interval]))`,
  leftoverKills: `sum(increase(ess_leftover_kills_total{${ESS}}[$__rate_interval]))`,
  activationLatency: `ess_last_activation_latency_seconds{${ESS}}`,
  activationsBySource: `sum by (source) (increase(ess_activations_total{${ESS}}[$__rate_interval]))`,
  webhookRequestsByCode: `sum by (code) (increase(ess_webhook_requests_total{${ESS}}[$__rate_interval]))`,
  webhookAlertsMatched: `sum(increase(ess_webhook_alerts_matched_total{${ESS}}[$__rate_interval]))`,
  webhookTripsWritten: `sum(increase(ess_webhook_trips_written_total{${ESS}}[$__rate_interval]))`,
  webhookTripFailures: `sum(increase(ess_webhook_trip_failures_total{${ESS}}[$__rate_interval]))`,
  webhookDurationP99: `histogram_quantile(0.99, sum by (le) (rate(ess_webhook_request_duration_seconds_bucket{${ESS}}[$__rate_interval])))`,
  webhookQueueWaitP99: `histogram_quantile(0.99, sum by (le) (rate(ess_webhook_queue_wait_seconds_bucket{${ESS}}[$__rate_interval])))`,
  // The fleet row. The counts fall back to 0 (`or vector(0)`): "0 latched" is an answer, no data is not.
  // Latched and stopped, as in `ess_fleet.sh status`: not a host whose latch holds while a trading unit
  // still runs (verdict violation) or cannot be checked (unknown), nor one that cannot be scraped now
  // (after a Prometheus restart, its last ess_active stays visible for minutes without a stale marker).
  fleetLatched:
    `count((ess_active{${ESS}} == 1 and on (job, instance) up{${ESS}} == 1) ` +
    `unless on (job, instance) (ess_verdict{${ESS}, verdict=~"violation|unknown"} == 1)) or vector(0)`,
  fleetHosts: `count(up{${ESS}}) or vector(0)`,
  fleetUnreachable: `count(up{${ESS}} == 0) or vector(0)`,
  // One row per instance in the host table: `max by (instance)` drops __name__ and job, so the
  // tables merge on instance alone; ess_identity_info adds the receiver's host and groups.
  fleetIdentity: `max by (instance, host, groups) (ess_identity_info{${ESS}})`,
  fleetUp: `max by (instance) (up{${ESS}})`,
  fleetActive: `max by (instance) (ess_active{${ESS}})`,
  fleetArmed: `max by (instance) (ess_switch_armed{${ESS}})`,
  fleetLastActivation: `max by (instance) (ess_last_activation_timestamp_seconds{${ESS}}) * 1000`,
  fleetLatency: `max by (instance) (ess_last_activation_latency_seconds{${ESS}})`,
  // Per host by the name a trip scopes to (ess_host), which may differ from the scrape address.
  hostLatency: `ess_last_activation_latency_seconds{${ESS}} * on (job, instance) group_left (host) ess_identity_info{${ESS}}`,
  hostLastTrip: `ess_last_activation_timestamp_seconds{${ESS}} * on (job, instance) group_left (host) ess_identity_info{${ESS}} * 1000`,
  scopeDecisions: `sum by (scope, decision) (increase(ess_webhook_scope_decisions_total{${ESS}}[$__rate_interval]))`,
  exporterReadOk: `ess_exporter_read_ok{${ESS}}`,
  exporterReadErrors: `sum by (instance, source) (increase(ess_exporter_read_errors_total{${ESS}}[$__rate_interval]))`,
} as const;

export type QueryName = keyof typeof QUERIES;

/** All panel expressions, in a stable order. */
export const PANEL_QUERIES: readonly string[] = Object.values(QUERIES);

/** The instance variable's query; it lists down targets too, so a dead exporter stays selectable. */
export const INSTANCE_VARIABLE_QUERY = `label_values(up{job="${ESS_JOB}"}, instance)`;

/**
 * The expression with Grafana's variables replaced, for Prometheus' HTTP API: every instance and
 * a fixed range (Grafana derives $__rate_interval from the scrape interval, at least 4 of them).
 */
export function toRunnableQuery(expr: string, options: { instanceRegex?: string; rateInterval?: string } = {}): string {
  return expr
    .replaceAll('$instance', options.instanceRegex ?? '.+')
    .replaceAll('$__rate_interval', options.rateInterval ?? '1m');
}
