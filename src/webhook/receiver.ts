import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { WebhookSettings } from '../config/webhook-settings.js';
import { describe, type Log } from '../io/log.js';
import { type HeartbeatRecorder, isHeartbeat } from './heartbeat.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';
import { printableAscii } from './printable.js';
import { RejectionLog } from './rejection-log.js';
import { TripLedger } from './trip-ledger.js';
import { writeTripRequest } from './trip-request.js';
import { RESERVE_TARGET, TripReserve } from './trip-reserve.js';
import { anyRuleMatches, WorkMeter } from './trip-rule-matching.js';
import { decideTripScope, type TripScope } from './trip-scope.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import type { WebhookToken } from './webhook-token.js';

/** Bounds the dedupe memory: keys are fixed-size hashes, so 10,000 of them take about a megabyte. */
const LEDGER_MAX_ENTRIES = 10_000;
// Long enough for Alertmanager's own retries and an HA peer's copy, far shorter than repeat_interval:
// a trip alert still firing after its request was consumed without a latch (a concurrent deactivate,
// a flag that could not be written) must trip again on the next repeat. To resume while one still
// fires, silence it in Alertmanager.
const LEDGER_TTL_MS = 60 * 1000;

/** The root side's sweep makes room every 5 s; the reserve follows as soon. */
const RESERVE_REFILL_MS = 5000;

export interface AlertRef {
  readonly alertname: string;
  readonly fingerprint: string;
  readonly starts_at: string;
}

/** What happened to each alert of one delivery; the JSON body of the answer. */
export interface Delivery {
  /** request: the spool path written, or null in dry-run mode. */
  readonly tripped: (AlertRef & { readonly request: string | null })[];
  readonly deduplicated: AlertRef[];
  readonly failed: (AlertRef & { readonly error: string })[];
  /** Matching alerts scoped to other hosts or groups (ess_host, ess_group): not tripped here. */
  readonly other_target: (AlertRef & { readonly scope: string })[];
  /** Matching alerts with a scope no host can have (e.g. ess_scope other than "fleet"): tripped nowhere. */
  readonly invalid_scope: (AlertRef & { readonly problem: string })[];
  /** Resolved alerts and firing ones no trip rule matched. */
  ignored: number;
  /** Heartbeats of the dead man's switch (ess_heartbeat="true"): never a trip (src/webhook/heartbeat.ts). */
  heartbeats: number;
  readonly dry_run: boolean;
}

/** A delivery matched: the alerts to trip here, and what became of the others so far. */
export interface Matched {
  readonly delivery: Delivery;
  readonly toTrip: readonly { readonly alert: WebhookAlert; readonly ref: AlertRef; readonly scope: TripScope }[];
  readonly groupKey: string;
}

/** The webhook settings with the token read from its file (loadWebhookToken). */
export interface ReceiverSettings extends WebhookSettings {
  /** null: no token file, accepted on a loopback listen address only. */
  readonly token: WebhookToken | null;
}

/**
 * Turns Alertmanager notifications into trip requests for the root side. It can only ever add requests
 * to the spool: nothing here removes the latch or starts a unit.
 */
export class WebhookReceiver {
  readonly #ledger = new TripLedger({ maxEntries: LEDGER_MAX_ENTRIES, ttlMs: LEDGER_TTL_MS });
  readonly #spoolDir: string;
  readonly #log: Log;
  /** Spare requests that still latch when the spool is full (src/webhook/trip-reserve.ts). */
  readonly #reserve: TripReserve;
  /**
   * Alerts scoped to other hosts, logged 20 a minute then counted: a token holder's flood of them
   * would otherwise write a journal line each and push the TRIP lines out.
   */
  readonly #otherTargetLog: RejectionLog;
  #refill: NodeJS.Timeout | undefined;
  #warnedDirectorySync = false;
  #reserveProblemLogged = '';

  constructor(
    readonly settings: ReceiverSettings,
    spoolDir: string,
    readonly metrics: WebhookMetrics,
    log: Log,
    /** Absent: heartbeats are still never trips, only not recorded. */
    private readonly heartbeats?: HeartbeatRecorder,
  ) {
    this.#spoolDir = spoolDir;
    this.#log = log;
    this.#reserve = new TripReserve(spoolDir);
    this.#otherTargetLog = new RejectionLog(log, 20, 60_000, Date.now, "alerts scoped to other hosts were not logged (see ess_webhook_scope_decisions_total{decision=\"other_target\"})");
    metrics.dryRun = () => (settings.dryRun ? 1 : 0);
    if (!settings.dryRun) {
      metrics.reserveSize = () => this.#reserve.size;
      void this.fillReserve();
      // spent or never filled (the spool was full): topped up again once the root side made room
      this.#refill = setInterval(() => {
        if (this.#reserve.size < RESERVE_TARGET) void this.fillReserve();
      }, RESERVE_REFILL_MS).unref();
    }
  }

  /**
   * Whether a trip can be written whatever fills the spool meanwhile: a spare request is ready. Without
   * one, a trip needs room a member of the ESS group can take. Dry run: trips are never written.
   */
  tripPath(): { readonly ok: boolean; readonly dry_run: boolean; readonly reserve: number; readonly problem: string } {
    const { dryRun } = this.settings;
    const reserve = this.#reserve.size;
    const problem = dryRun
      ? 'webhook_dry_run is true: trips are logged, never written, and nothing latches'
      : reserve > 0
        ? ''
        : `no spare trip request ready: a trip latches only if the spool has room (${this.#reserve.problem || 'reserve not filled yet'})`;
    return { ok: problem === '', dry_run: dryRun, reserve, problem };
  }

  /** Stops topping the reserve up and waits for a fill in progress, so shutdown leaves no half-made spare. */
  async close(): Promise<void> {
    clearInterval(this.#refill);
    await this.#reserve.settled();
  }

  /** Tops the reserve up; says once, and again when it changes, why it stays short. */
  async fillReserve(): Promise<void> {
    await this.#reserve.fill();
    const problem = this.#reserve.problem;
    if (problem !== '' && problem.replace(/reserve\/r-[0-9a-f]+/, '') !== this.#reserveProblemLogged) {
      this.#log(`webhook: WARNING trip reserve holds ${this.#reserve.size} spare requests, not more: ${problem}`);
    }
    this.#reserveProblemLogged = problem.replace(/reserve\/r-[0-9a-f]+/, '');
  }

  /**
   * Trips on every FIRING alert a rule matches, one request per alert, in order (the first request
   * starts the stop). Resolved alerts are ignored: they never trip and never release anything.
   */
  async receive(payload: WebhookPayload, receivedAtMs: number = preciseNowMs()): Promise<Delivery> {
    return this.trip(await this.match(payload, receivedAtMs), receivedAtMs);
  }

  /**
   * The CPU part of a delivery: which alerts trip here. The router runs it in the delivery's turn and
   * the writes (trip) after it, so that a trip waiting on its spool writes does not hold the turn.
   */
  async match(payload: WebhookPayload, receivedAtMs: number = preciseNowMs()): Promise<Matched> {
    const delivery: Delivery = {
      tripped: [],
      deduplicated: [],
      failed: [],
      other_target: [],
      invalid_scope: [],
      ignored: 0,
      heartbeats: 0,
      dry_run: this.settings.dryRun,
    };
    const toTrip: Matched['toTrip'][number][] = [];
    const meter = new WorkMeter();
    for (const alert of payload.alerts) {
      if (meter.sliceUsed()) await nextTurn();
      // before the trip rules: a heartbeat that also matches one (a broad matcher) still never trips
      if (isHeartbeat(alert)) {
        delivery.heartbeats += 1;
        if (alert.status === 'firing' && this.heartbeats) await this.heartbeats.record(alert, payload, receivedAtMs);
        continue;
      }
      if (alert.status !== 'firing' || !anyRuleMatches(this.settings.tripRules, alert.labels, meter)) {
        delivery.ignored += 1;
        continue;
      }
      this.metrics.alertsMatched.inc();
      const ref = alertRef(alert);
      const scope = decideTripScope(alert.labels, this.settings.identity);
      this.metrics.scopeDecisions.inc({ scope: scope.kind, decision: scope.decision });
      if (this.#inScope(scope, ref, delivery)) toTrip.push({ alert, ref, scope });
    }
    return { delivery, toTrip, groupKey: payload.groupKey };
  }

  /** Writes the trip requests of matched alerts, in order; what became of each is in the Delivery. */
  async trip({ delivery, toTrip, groupKey }: Matched, receivedAtMs: number = preciseNowMs()): Promise<Delivery> {
    for (const { alert, ref, scope } of toTrip) {
      try {
        const outcome = await this.#ledger.once(ledgerKey(alert), () => this.#trip(alert, groupKey, receivedAtMs, scope));
        if (outcome.duplicate) {
          this.metrics.deduplicated.inc();
          this.#log(`webhook: duplicate, already tripped for alert ${describeAlert(ref)} startsAt ${printableAscii(ref.starts_at, 40)}`);
          delivery.deduplicated.push(ref);
        } else {
          delivery.tripped.push({ ...ref, request: outcome.value });
        }
      } catch (error) {
        this.metrics.tripFailures.inc();
        this.#log(`webhook: TRIP FAILED for alert ${describeAlert(ref)}: ${describe(error)}`);
        delivery.failed.push({ ...ref, error: describe(error) });
      }
    }
    return delivery;
  }

  /**
   * An alert scoped to someone else is answered 200 like any other: Alertmanager must not retry a
   * delivery that is correct, only not for this host.
   */
  #inScope(scope: TripScope, ref: AlertRef, delivery: Delivery): boolean {
    const { host, groups } = this.settings.identity;
    if (scope.decision === 'invalid') {
      const problem = printableAscii(scope.text, 200);
      this.#log(`webhook: ERROR invalid trip scope, NOT tripped (on any host) for alert ${describeAlert(ref)}: ${problem}`);
      delivery.invalid_scope.push({ ...ref, problem });
      return false;
    }
    if (scope.decision === 'other_target') {
      this.#otherTargetLog.reject(
        `webhook: info: alert ${describeAlert(ref)} is scoped to ${scope.text}, not this host ` +
          `(host ${host}, groups ${groups.join(',') || '(none)'}): not tripped here`,
      );
      delivery.other_target.push({ ...ref, scope: scope.text });
      return false;
    }
    return true;
  }

  /** Resolves to the spool path written (null in dry-run mode). */
  async #trip(alert: WebhookAlert, groupKey: string, receivedAtMs: number, scope: TripScope): Promise<string | null> {
    const ref = alertRef(alert);
    if (this.settings.dryRun) {
      this.metrics.dryRunTrips.inc();
      this.#log(`webhook: DRY RUN, would trip (scope=${scope.text}) for alert ${describeAlert(ref)}`);
      return null;
    }
    const written = await writeTripRequest(
      this.#spoolDir,
      { fingerprint: alert.fingerprint, reason: `alert ${ref.alertname} fingerprint=${alert.fingerprint} groupKey=${groupKey}`, scope: scope.text, receivedAtMs },
      this.#reserve,
    );
    this.metrics.tripsWritten.inc();
    if (written.stored !== 'complete') {
      this.metrics.tripFallbacks.inc({ how: written.stored });
      this.#log(
        `webhook: ERROR trip request ${written.path} delivered ${FALLBACK_WORDS[written.stored]} (it latches all the same) ` +
          `for alert ${describeAlert(ref)}: ${printableAscii(written.problem ?? '', 300)}`,
      );
      void this.fillReserve();
    }
    this.metrics.tripStages.observe({ stage: 'receipt_to_latched' }, (preciseNowMs() - receivedAtMs) / 1000);
    const startsAtMs = Date.parse(alert.startsAt);
    // a startsAt in the future (clock skew between hosts) says nothing about this stage
    if (Number.isFinite(startsAtMs) && startsAtMs <= receivedAtMs) {
      this.metrics.tripStages.observe({ stage: 'alert_to_receipt' }, (receivedAtMs - startsAtMs) / 1000);
    }
    this.#log(`webhook: TRIP written ${written.path} scope=${scope.text} for alert ${describeAlert(ref)}`);
    if (!written.directorySynced && !this.#warnedDirectorySync) {
      this.#warnedDirectorySync = true;
      this.#log(
        `webhook: note: ${this.#spoolDir}/incoming cannot be opened for fsync (write+search only, as intended); ` +
          'each request is fsynced again after its rename instead',
      );
    }
    return written.path;
  }
}

const FALLBACK_WORDS = {
  emptied: 'EMPTY, without its reason (no room in the spool for it)',
  reserve: "from the receiver's reserve (the spool was full)",
  direct: 'created in incoming/ directly (tmp/ unusable)',
} as const;

/** The wall clock with sub-millisecond resolution: the controller records µs. */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

function alertRef(alert: WebhookAlert): AlertRef {
  return { alertname: alert.labels.alertname ?? '', fingerprint: alert.fingerprint, starts_at: alert.startsAt };
}

/** For log lines: alert text is untrusted and must not forge journal lines. */
function describeAlert(ref: AlertRef): string {
  return `${printableAscii(ref.alertname || '(no alertname)', 100)} fingerprint ${printableAscii(ref.fingerprint, 40)}`;
}

/** Fixed-size key: a hostile fingerprint can be megabytes long, and the ledger holds 10,000 keys. */
function ledgerKey(alert: { readonly fingerprint: string; readonly startsAt: string }): string {
  return createHash('sha256').update(alert.fingerprint).update('\0').update(alert.startsAt).digest('hex');
}
