import type { ReadHealth } from './read-health.js';
import { runBounded } from './run-bounded.js';
import { parseSystemctlShow, SHOW_PROPERTIES, type UnitStatus } from './systemctl-show.js';

export interface SystemdReaderOptions {
  readonly systemctlPath: string;
  readonly timeoutMs: number;
  /** How long a result (or a failure) is reused before systemctl runs again. */
  readonly cacheMs: number;
  readonly units: readonly string[];
}

/**
 * Unit states from one batched `systemctl show` per refresh. Concurrent scrapes share the run in flight
 * and results are reused for cacheMs, so scrape load never multiplies systemctl processes. A failed or
 * timed-out run keeps the last known states.
 */
export class SystemdReader {
  private statuses: ReadonlyMap<string, UnitStatus> | null = null;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  /** Bumped by invalidate(): a run that started before it must not be cached as fresh. */
  private generation = 0;
  private inFlightGeneration = 0;

  constructor(
    private readonly options: SystemdReaderOptions,
    private readonly health: ReadHealth,
    private readonly now: () => number = Date.now,
  ) {}

  /** null while systemctl has never answered. */
  current(): ReadonlyMap<string, UnitStatus> | null {
    return this.statuses;
  }

  /** The next refresh runs systemctl even if the cached result is recent. */
  invalidate(): void {
    this.generation += 1;
    this.lastAttemptMs = Number.NEGATIVE_INFINITY;
  }

  async refresh(): Promise<ReadonlyMap<string, UnitStatus> | null> {
    if (this.inFlight !== undefined && this.inFlightGeneration !== this.generation) await this.inFlight;
    if (this.inFlight === undefined && this.now() - this.lastAttemptMs >= this.options.cacheMs) {
      const generation = this.generation;
      this.inFlightGeneration = generation;
      this.inFlight = this.run().finally(() => {
        // started before a latch change: its states may predate the change, so do not cache them
        if (generation === this.generation) this.lastAttemptMs = this.now();
        this.inFlight = undefined;
      });
    }
    await this.inFlight;
    return this.statuses;
  }

  private async run(): Promise<void> {
    const { systemctlPath, timeoutMs, units } = this.options;
    try {
      const output = await runBounded(
        systemctlPath,
        ['show', '--no-pager', `--property=${SHOW_PROPERTIES}`, '--', ...units],
        timeoutMs,
      );
      this.statuses = parseSystemctlShow(output, units);
      this.health.succeeded('systemd');
    } catch (error) {
      this.health.failed('systemd', new Error('cannot read unit states', { cause: error }));
    }
  }
}
