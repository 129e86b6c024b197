import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import { optionalGauge } from '../collectors/optional-metric.js';
import type { HeartbeatRecord } from '../contract/types.generated.js';
import { describe, type Log } from '../io/log.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';
import { printableAscii } from './printable.js';
import { RejectionLog } from './rejection-log.js';

/** The label that makes an alert a heartbeat of the dead man's switch (alerting/ess.rules.yml ESSWatchdog). */
export const HEARTBEAT_LABEL = 'ess_heartbeat';
/** Below SPOOL_DIR: the exporter's own directory (tmpfiles), the newest heartbeat as `last`. */
export const HEARTBEAT_SUBDIR = 'heartbeat';
export const HEARTBEAT_FILE = 'last';

/**
 * How far ahead of this host's clock a heartbeat's startsAt or endsAt may be, and how far in the past
 * its endsAt: generous, so that a clock step of an hour on either side never discards a real heartbeat,
 * while a forged one dated days ahead (which would otherwise outrank every real one) is refused.
 */
export const HEARTBEAT_CLOCK_ALLOWANCE_MS = 2 * 3600 * 1000;

export type HeartbeatResult = 'fresh' | 'future' | 'replay' | 'unrecorded';
const RESULTS: readonly HeartbeatResult[] = ['fresh', 'future', 'replay', 'unrecorded'];

/** A heartbeat is never a trip, whatever the trip rules say: the receiver checks this before them. */
export function isHeartbeat(alert: WebhookAlert): boolean {
  return alert.labels[HEARTBEAT_LABEL] === 'true';
}

/** Labels that say nothing about the path (they are the rule's own): the rest are Prometheus's external labels. */
const RULE_LABELS = new Set(['alertname', HEARTBEAT_LABEL, 'service']);

/** "prometheus=p1,replica=a via http://am-1:9093": which Prometheus and which Alertmanager it came through. */
export function heartbeatPath(alert: WebhookAlert, payload: WebhookPayload): string {
  const external = Object.entries(alert.labels)
    .filter(([name]) => !RULE_LABELS.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  return printableAscii(`${external.join(',') || '(no external labels)'} via ${payload.externalURL || '(no externalURL)'}`, 300);
}

/** Milliseconds of an RFC 3339 time; null for none or Alertmanager's zero time (year 1). */
function instant(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

/**
 * Records each fresh heartbeat in SPOOL_DIR/heartbeat/last for the root side's dead man's switch
 * (deploy/lib/watchdog.sh), which only looks at whether that file changed, on its own uptime clock.
 * Not fresh: a heartbeat dated more than the allowance ahead of this host's clock (future), or long
 * expired (replay: an old delivery sent again). Every other delivery is fresh, the same words again
 * included: Alertmanager hides a firing alert's endsAt (year 1), so each of its repeats is word for
 * word the one before, and each proves the chain delivers now. A failed write is counted and logged,
 * never answered 500: the root side sees the silence, which is the point.
 */
export class HeartbeatRecorder {
  readonly #counts: Counter<'result'>;
  readonly #gaps: Counter;
  readonly #problems: RejectionLog;
  #lastReceivedMs: number | undefined;
  /** The last fresh one on the monotonic clock: gaps are never made or hidden by a wall-clock step. */
  #lastFreshMonoMs: number | undefined;

  constructor(
    private readonly spoolDir: string,
    registry: Registry,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
    /** WATCHDOG_MAX_SILENCE_SEC, and the monotonic clock in ms (a parameter for the tests). */
    private readonly limit: { readonly maxSilenceSec: number; readonly monotonicMs?: () => number },
  ) {
    this.#counts = new Counter({
      name: 'ess_watchdog_heartbeats_total',
      help: 'ESSWatchdog heartbeats the receiver got, by result: fresh (recorded for the root side), future (dated ahead of this host), replay (an endsAt more than 2 hours past), unrecorded (the record could not be written).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    for (const result of RESULTS) this.#counts.inc({ result }, 0);
    this.#gaps = new Counter({
      name: 'ess_watchdog_heartbeat_gaps_total',
      help: 'Fresh heartbeats that came more than half of WATCHDOG_MAX_SILENCE_SEC after the one before (monotonic clock): the heartbeat route repeats too slowly for the limit, or the monitoring was down for a while.',
      registers: [registry],
    });
    optionalGauge(
      registry,
      'ess_watchdog_last_heartbeat_timestamp_seconds',
      "Unix time (this host's clock) the newest fresh heartbeat arrived; absent while none did since the exporter started.",
      () => (this.#lastReceivedMs === undefined ? undefined : this.#lastReceivedMs / 1000),
    );
    this.#problems = new RejectionLog(log, 5, 60_000, now, 'heartbeat problems were not logged (see ess_watchdog_heartbeats_total)');
  }

  /** Judges one heartbeat alert of a delivery and, when fresh, records it. */
  async record(alert: WebhookAlert, payload: WebhookPayload, receivedAtMs: number): Promise<HeartbeatResult> {
    const result = this.#judge(alert);
    if (result === 'fresh') {
      try {
        await this.#write(alert, payload, receivedAtMs);
        this.#lastReceivedMs = receivedAtMs;
        this.#countGap();
      } catch (error) {
        this.#counts.inc({ result: 'unrecorded' });
        this.#problems.reject(`webhook: ERROR heartbeat NOT recorded in ${this.#dir()}: ${describe(error)}`);
        return 'unrecorded';
      }
    } else {
      this.#problems.reject(`webhook: heartbeat not counted (${result}) from ${heartbeatPath(alert, payload)}: startsAt ${printableAscii(alert.startsAt, 40)} endsAt ${printableAscii(alert.endsAt, 40)}`);
    }
    this.#counts.inc({ result });
    return result;
  }

  /**
   * A gap longer than half the limit leaves less than half of it for a delivery that is late or lost:
   * the warning (ESSWatchdogHeartbeatSparse) comes before the limit is reached, which the host cannot
   * check against Alertmanager's repeat_interval itself (that file is on another host).
   */
  #countGap(): void {
    const mono = (this.limit.monotonicMs ?? (() => performance.now()))();
    if (this.#lastFreshMonoMs !== undefined && mono - this.#lastFreshMonoMs > this.limit.maxSilenceSec * 500) this.#gaps.inc();
    this.#lastFreshMonoMs = mono;
  }

  #judge(alert: WebhookAlert): HeartbeatResult {
    const now = this.now();
    const startsAt = instant(alert.startsAt);
    const endsAt = instant(alert.endsAt);
    const ahead = now + HEARTBEAT_CLOCK_ALLOWANCE_MS;
    if ((startsAt !== null && startsAt > ahead) || (endsAt !== null && endsAt > ahead)) return 'future';
    // Not "older than the newest" either: a Prometheus whose clock stepped back would then be
    // refused for as long as the step, and the switch would trip on a monitoring that works.
    return endsAt !== null && endsAt < now - HEARTBEAT_CLOCK_ALLOWANCE_MS ? 'replay' : 'fresh';
  }

  #dir(): string {
    return join(this.spoolDir, HEARTBEAT_SUBDIR);
  }

  /** Replaces `last` atomically: a new file, fsynced, renamed over it (the root side sees it change). */
  async #write(alert: WebhookAlert, payload: WebhookPayload, receivedAtMs: number): Promise<void> {
    const record: HeartbeatRecord = {
      schema: 1,
      received: receivedAtMs / 1000,
      path: heartbeatPath(alert, payload),
      group_key: printableAscii(payload.groupKey, 300),
      receiver: printableAscii(payload.receiver, 100),
      external_url: printableAscii(payload.externalURL, 200),
      labels: Object.fromEntries(Object.entries(alert.labels).slice(0, 32).map(([k, v]) => [printableAscii(k, 100), printableAscii(v, 200)])),
      starts_at: printableAscii(alert.startsAt, 40),
      ends_at: printableAscii(alert.endsAt, 40),
    };
    const staged = join(this.#dir(), `.last-${randomBytes(6).toString('hex')}`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(staged, flags, 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } catch (error) {
      await rm(staged, { force: true });
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
    }
    await rename(staged, join(this.#dir(), HEARTBEAT_FILE)).catch(async (error: unknown) => {
      await rm(staged, { force: true });
      throw error;
    });
  }
}
