/**
 * Runs an expensive read (a systemctl or busctl process) at most once per cacheMs: concurrent callers
 * share the run in flight, so scrape load never multiplies processes. invalidate() forces the next
 * refresh to run again, and a run already in flight when it was called is not cached as fresh.
 */
export class CachedRun {
  readonly #run: () => Promise<void>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #lastAttemptMs = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  /** Bumped by invalidate(): a run that started before it must not be cached as fresh. */
  #generation = 0;
  #inFlightGeneration = 0;

  constructor(run: () => Promise<void>, cacheMs: number, now: () => number = Date.now) {
    this.#run = run;
    this.#cacheMs = cacheMs;
    this.#now = now;
  }

  invalidate(): void {
    this.#generation += 1;
    this.#lastAttemptMs = Number.NEGATIVE_INFINITY;
  }

  /** Resolves once a run that started no earlier than the last invalidate() has finished. */
  async refresh(): Promise<void> {
    if (this.#inFlight !== undefined && this.#inFlightGeneration !== this.#generation) await this.#inFlight;
    if (this.#inFlight === undefined && this.#now() - this.#lastAttemptMs >= this.#cacheMs) {
      const generation = this.#generation;
      this.#inFlightGeneration = generation;
      this.#inFlight = this.#run().finally(() => {
        if (generation === this.#generation) this.#lastAttemptMs = this.#now();
        this.#inFlight = undefined;
      });
    }
    await this.#inFlight;
  }
}
