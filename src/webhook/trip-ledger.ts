export interface TripLedgerOptions {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now?: () => number;
}

export type LedgerOutcome<T> = { readonly duplicate: false; readonly value: T } | { readonly duplicate: true };

/**
 * Remembers which alerts already tripped, so that Alertmanager's retries and the second member of an HA
 * pair do not write a request each. A key is recorded only after its write succeeded: a failed write is
 * retried by Alertmanager and must then be attempted again. Bounded in size (oldest first out) and in
 * age (a key expires ttlMs after its write, so an alert that keeps firing for longer trips again).
 */
export class TripLedger {
  /** Key -> time written; Map keeps insertion order, which is also expiry order. */
  readonly #written = new Map<string, number>();
  /** Writes in progress: a concurrent delivery of the same alert waits for the outcome instead of writing too. */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(options: TripLedgerOptions) {
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
  }

  /** Runs write unless key was written recently or is being written; rejects with write's error. */
  async once<T>(key: string, write: () => Promise<T>): Promise<LedgerOutcome<T>> {
    // Each wait is for a different write that failed (a success returns below), and every waiter is a
    // request Alertmanager sent, so this ends; the bound only guards against a bug.
    for (let waits = 0; waits < 100; waits++) {
      if (this.has(key)) return { duplicate: true };
      const pending = this.#inFlight.get(key);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const attempt = write();
    this.#inFlight.set(key, attempt);
    try {
      const value = await attempt;
      this.#record(key);
      return { duplicate: false, value };
    } finally {
      this.#inFlight.delete(key);
    }
  }

  get size(): number {
    return this.#written.size;
  }

  has(key: string): boolean {
    const writtenAt = this.#written.get(key);
    if (writtenAt === undefined) return false;
    if (this.#now() - writtenAt < this.#ttlMs) return true;
    this.#written.delete(key);
    return false;
  }

  #record(key: string): void {
    const now = this.#now();
    this.#written.delete(key);
    this.#written.set(key, now);
    for (const [oldest, writtenAt] of this.#written) {
      if (this.#written.size <= this.#maxEntries && now - writtenAt < this.#ttlMs) break;
      this.#written.delete(oldest);
    }
  }
}
