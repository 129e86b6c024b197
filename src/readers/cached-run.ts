/**
 * Runs an expensive read (a systemctl or busctl process) at most once per cacheMs: concurrent callers
 * share the run in flight, so scrape load never multiplies processes. invalidate() forces the next
 * refresh to run again, and a run already in flight when it was called is not cached as fresh.
 */
export class CachedRun {
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  /** Bumped by invalidate(): a run that started before it must not be cached as fresh. */
  private generation = 0;
  private inFlightGeneration = 0;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  invalidate(): void {
    this.generation += 1;
    this.lastAttemptMs = Number.NEGATIVE_INFINITY;
  }

  /** Resolves once a run that started no earlier than the last invalidate() has finished. */
  async refresh(): Promise<void> {
    if (this.inFlight !== undefined && this.inFlightGeneration !== this.generation) await this.inFlight;
    if (this.inFlight === undefined && this.now() - this.lastAttemptMs >= this.cacheMs) {
      const generation = this.generation;
      this.inFlightGeneration = generation;
      this.inFlight = this.run().finally(() => {
        if (generation === this.generation) this.lastAttemptMs = this.now();
        this.inFlight = undefined;
      });
    }
    await this.inFlight;
  }
}
