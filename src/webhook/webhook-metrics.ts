import { Counter, Histogram, type Registry } from 'prom-client';
import { optionalGauge } from '../collectors/optional-metric.js';
import { GUARD_ACTIONS } from '../http/connection-guard.js';

/**
 * Every status the receiver answers with. Their series exist at 0 from the start: a counter series born
 * at 1 is invisible to increase(), so ESSWebhookRejectingRequests would miss the first 401.
 */
const WEBHOOK_STATUS_CODES = [200, 400, 401, 405, 413, 415, 500] as const;

/** The receiver's metrics, names as used by alerting/ess.rules.yml and dashboards/src/queries.ts. */
export class WebhookMetrics {
  readonly requests: Counter<'code'>;
  readonly alertsMatched: Counter;
  readonly tripsWritten: Counter;
  readonly tripFailures: Counter;
  readonly tripFallbacks: Counter<'how'>;
  /** Spare requests of the receiver's reserve ready now (set by the receiver). */
  reserveSize: () => number | undefined = () => undefined;
  /** webhook_dry_run: 1 when trips are only logged, never written (set by the receiver). */
  dryRun: () => number | undefined = () => undefined;
  readonly deduplicated: Counter;
  readonly dryRunTrips: Counter;
  readonly requestDuration: Histogram;
  /** How long a delivery's body, read, waited for its turn to be matched (src/webhook/delivery-queue.ts). */
  readonly queueWait: Histogram;
  readonly deliveriesShed: Counter<'reason'>;
  /** Deliveries read and waiting for their turn now (set by the router). */
  queuedDeliveries: () => number | undefined = () => undefined;
  readonly tripStages: Histogram<'stage'>;
  readonly scopeDecisions: Counter<'scope' | 'decision'>;
  readonly tlsReloads: Counter<'result'>;
  readonly connectionsClosed: Counter<'reason'>;
  /** Whether the listener is the socket systemd holds (true), bound by the exporter (false), or not yet known. */
  listenerFromSystemd: boolean | undefined;
  /** notAfter of the certificate in use, in seconds; unset (no series) without TLS. */
  tlsCertNotAfterSeconds: number | undefined;

  constructor(registry: Registry) {
    ({
      requests: this.requests,
      alertsMatched: this.alertsMatched,
      tripsWritten: this.tripsWritten,
      tripFailures: this.tripFailures,
      tripFallbacks: this.tripFallbacks,
      deduplicated: this.deduplicated,
      dryRunTrips: this.dryRunTrips,
    } = registerTripCounters(registry, () => this.reserveSize()));
    optionalGauge(
      registry,
      'ess_webhook_dry_run',
      'webhook_dry_run of the exporter configuration: 1 while trips are only logged, never written (nothing latches); ' +
        '0 when they are written (ESSWebhookDryRun).',
      () => this.dryRun(),
    );
    ({ requestDuration: this.requestDuration, tripStages: this.tripStages, scopeDecisions: this.scopeDecisions } = registerTripTimings(registry));
    ({ queueWait: this.queueWait, deliveriesShed: this.deliveriesShed } = registerQueueMetrics(registry, () => this.queuedDeliveries()));
    ({ tlsReloads: this.tlsReloads, connectionsClosed: this.connectionsClosed } = registerListenerMetrics(registry, {
      listenerFromSystemd: () => this.listenerFromSystemd,
      tlsCertNotAfterSeconds: () => this.tlsCertNotAfterSeconds,
    }));
  }
}

/** What the receiver did with requests and their alerts; the reserve's size comes from the receiver. */
function registerTripCounters(registry: Registry, reserveSize: () => number | undefined) {
  const registers = [registry];
  const requests = new Counter({
    name: 'ess_webhook_requests_total',
    help: 'Requests to the Alertmanager webhook receiver (POST /alertmanager), by HTTP status.',
    labelNames: ['code'] as const,
    registers,
  });
  for (const code of WEBHOOK_STATUS_CODES) requests.inc({ code: String(code) }, 0);
  const alertsMatched = new Counter({
    name: 'ess_webhook_alerts_matched_total',
    help: 'Firing alerts that matched a trip rule, duplicates included.',
    registers,
  });
  const tripsWritten = new Counter({
    name: 'ess_webhook_trips_written_total',
    help: 'Trip requests written durably into the spool for the ESS controller.',
    registers,
  });
  const tripFailures = new Counter({
    name: 'ess_webhook_trip_failures_total',
    help: 'Trip requests that could not be written (answered 500 so that Alertmanager retries).',
    registers,
  });
  const tripFallbacks = new Counter({
    name: 'ess_webhook_trip_fallbacks_total',
    help:
      'Trip requests delivered less than whole because the spool was full or tmp/ unusable; each still latches: ' +
      'emptied (without its reason), reserve (a spare request of the receiver), direct (created in incoming/).',
    labelNames: ['how'] as const,
    registers,
  });
  for (const how of ['emptied', 'reserve', 'direct']) tripFallbacks.inc({ how }, 0);
  optionalGauge(
    registry,
    'ess_webhook_trip_reserve',
    "Spare trip requests the receiver holds ready in the spool's reserve/ (target 4); 0: a trip latches only " +
      'if the spool has room for it (ESSWebhookTripReserveEmpty); absent in dry-run mode.',
    reserveSize,
  );
  const deduplicated = new Counter({
    name: 'ess_webhook_deduplicated_total',
    help: 'Matching alerts not written again: same fingerprint and start already tripped (retry or HA peer).',
    registers,
  });
  const dryRunTrips = new Counter({
    name: 'ess_webhook_dry_run_trips_total',
    help: 'Trip requests that webhook_dry_run kept from being written.',
    registers,
  });
  return { requests, alertsMatched, tripsWritten, tripFailures, tripFallbacks, deduplicated, dryRunTrips };
}

/** How long requests and the stages of a trip take, and how alerts were scoped. */
function registerTripTimings(registry: Registry) {
  const registers = [registry];
  const requestDuration = new Histogram({
    name: 'ess_webhook_request_duration_seconds',
    help: 'Time to answer a webhook request, trip request writes and fsyncs included.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  // The stop's first two stages as the receiver sees them; the rest (trigger to all stopped) is the
  // activation's own record, ess_last_activation_latency_seconds, measured from the same receipt.
  const tripStages = new Histogram({
    name: 'ess_webhook_trip_stage_seconds',
    help:
      'Stages of a webhook trip: alert_to_receipt (the alert\'s startsAt to the request\'s arrival here), ' +
      'receipt_to_latched (arrival to the trip request in the spool, from which systemd refuses every start).',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 15, 60, 300],
    registers,
  });
  const scopeDecisions = new Counter({
    name: 'ess_webhook_scope_decisions_total',
    help:
      'Firing alerts that matched a trip rule, by their scope (ess_host, ess_group, ess_scope labels: fleet, group, ' +
      'host, invalid) and what this host did: trip, other_target (scoped to other hosts), invalid (tripped nowhere).',
    labelNames: ['scope', 'decision'] as const,
    registers,
  });
  // the combinations that can happen, at 0 from the start (increase() misses a series born at 1)
  for (const [scope, decision] of SCOPE_SERIES) scopeDecisions.inc({ scope, decision }, 0);
  return { requestDuration, tripStages, scopeDecisions };
}

/**
 * The delivery queue: every body waits there, read, for its turn to be matched; a trip of a few alerts
 * overtakes bulky ones. Its wait is what a flood costs a delivery, and what it drops is counted.
 */
function registerQueueMetrics(registry: Registry, queued: () => number | undefined) {
  const registers = [registry];
  const queueWait = new Histogram({
    name: 'ess_webhook_queue_wait_seconds',
    help:
      'Time a webhook delivery, its body read, waited for its turn to be matched: deliveries are matched one at a ' +
      'time, small ones first (a trip overtakes bulky bodies), so a long wait means a flood of bodies (ESSWebhookFlooded).',
    buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const deliveriesShed = new Counter({
    name: 'ess_webhook_deliveries_shed_total',
    help:
      'Webhook deliveries dropped unmatched, by reason: client_gone (the client closed the connection, or the listener ' +
      'timed it out, before its turn came; never answered, so Alertmanager retries it).',
    labelNames: ['reason'] as const,
    registers,
  });
  deliveriesShed.inc({ reason: 'client_gone' }, 0);
  optionalGauge(registry, 'ess_webhook_queued_deliveries', 'Webhook deliveries read and waiting for their turn to be matched now.', queued);
  return { queueWait, deliveriesShed };
}

/** The listener's own metrics (it shares the receiver's registry and lifecycle). */
function registerListenerMetrics(
  registry: Registry,
  gauges: { readonly listenerFromSystemd: () => boolean | undefined; readonly tlsCertNotAfterSeconds: () => number | undefined },
) {
  const registers = [registry];
  const tlsReloads = new Counter({
    name: 'ess_webhook_tls_reload_total',
    help: 'Certificate reloads of the HTTPS listener: ok (new pair in use for new connections) or error (old pair kept).',
    labelNames: ['result'] as const,
    registers,
  });
  for (const result of ['ok', 'error']) tlsReloads.inc({ result }, 0);
  const connectionsClosed = new Counter({
    name: 'ess_http_connections_closed_total',
    help: 'Connections the HTTP listener closed to stay available, by reason (evictions over the caps, refusals, timeouts of a phase, pipelining, slow bodies).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of CONNECTION_CLOSE_REASONS) connectionsClosed.inc({ reason }, 0);
  // An expired certificate stops every delivery and every scrape at once, so the warning has to come
  // from the series before that day (ESSWebhookCertificateExpiring).
  // The address must belong to the ESS across restarts: a socket the exporter bound itself is free
  // for any local user to take while it restarts.
  optionalGauge(
    registry,
    'ess_exporter_listener_systemd_socket',
    'Whether the listener is the socket systemd holds across restarts (quantum-ess-exporter.socket, 1) or one the exporter bound itself (0).',
    () => {
      const fromSystemd = gauges.listenerFromSystemd();
      return fromSystemd === undefined ? undefined : Number(fromSystemd);
    },
  );
  optionalGauge(
    registry,
    'ess_webhook_tls_cert_not_after_timestamp_seconds',
    'Unix time the HTTPS listener\'s certificate in use expires (notAfter); absent without TLS.',
    gauges.tlsCertNotAfterSeconds,
  );
  return { tlsReloads, connectionsClosed };
}

const SCOPE_SERIES = [
  ['fleet', 'trip'],
  ['group', 'trip'],
  ['group', 'other_target'],
  ['host', 'trip'],
  ['host', 'other_target'],
  ['invalid', 'invalid'],
] as const;

/** The guard's reasons, and a slow body dropped by the body gate. */
const CONNECTION_CLOSE_REASONS = [...GUARD_ACTIONS, 'slow_body'] as const;
