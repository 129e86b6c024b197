import type { Log } from '../io/log.js';

/**
 * Logs rejected requests (401, 405, 413, 415, 400) at most `limit` times per window, then one line saying
 * how many were left out. Without it anyone who can reach the port could flood the journal until
 * journald's rate limit drops the exporter's TRIP lines, the evidence that matters. The counters in
 * ess_webhook_requests_total still count every request.
 */
export class RejectionLog {
  readonly #log: Log;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #logged = 0;
  #suppressed = 0;

  readonly #left: string;

  /** left: what the window's summary says was left out, with where it is still counted. */
  constructor(log: Log, limit = 20, windowMs = 60_000, now: () => number = Date.now, left = 'rejected requests were not logged (see ess_webhook_requests_total)') {
    this.#left = left;
    this.#log = log;
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  reject(message: string): void {
    const now = this.#now();
    this.#newWindowIfDue(now);
    if (this.#logged < this.#limit) {
      this.#logged += 1;
      this.#log(message);
      return;
    }
    this.#suppressed += 1;
    // the count is said when the window ends even if nothing comes after: a flood that stops must
    // still leave its size in the journal
    if (this.#suppressed === 1) {
      setTimeout(() => this.#newWindowIfDue(this.#now()), Math.max(0, this.#windowStart + this.#windowMs - now)).unref();
    }
  }

  #newWindowIfDue(now: number): void {
    if (now - this.#windowStart < this.#windowMs) return;
    if (this.#suppressed > 0) {
      this.#log(`webhook: ${this.#suppressed} more ${this.#left}`);
    }
    this.#windowStart = now;
    this.#logged = 0;
    this.#suppressed = 0;
  }
}
