import { CachedRun } from './cached-run.js';
import type { ReadHealth } from './read-health.js';
import { runBounded } from '../io/run-bounded.js';
import { parseSystemctlShow, SHOW_PROPERTIES, type UnitStatus } from './systemctl-show.js';

export interface SystemdReaderOptions {
  readonly systemctlPath: string;
  readonly timeoutMs: number;
  /** How long a result (or a failure) is reused before systemctl runs again. */
  readonly cacheMs: number;
  readonly units: readonly string[];
}

/** Unit states from one batched, bounded `systemctl show` per refresh. A failed run keeps the last known states. */
export class SystemdReader {
  readonly #options: SystemdReaderOptions;
  readonly #health: ReadHealth;
  readonly #cache: CachedRun;
  #statuses: ReadonlyMap<string, UnitStatus> | null = null;

  constructor(options: SystemdReaderOptions, health: ReadHealth, now: () => number = Date.now) {
    this.#options = options;
    this.#health = health;
    this.#cache = new CachedRun(() => this.#run(), options.cacheMs, now);
  }

  /** null while systemctl has never answered. */
  current(): ReadonlyMap<string, UnitStatus> | null {
    return this.#statuses;
  }

  /** The next refresh runs systemctl even if the cached result is recent (a latch change). */
  invalidate(): void {
    this.#cache.invalidate();
  }

  async refresh(): Promise<ReadonlyMap<string, UnitStatus> | null> {
    await this.#cache.refresh();
    return this.#statuses;
  }

  async #run(): Promise<void> {
    const { systemctlPath, timeoutMs, units } = this.#options;
    try {
      const output = await runBounded(
        systemctlPath,
        ['show', '--no-pager', `--property=${SHOW_PROPERTIES}`, '--', ...units],
        timeoutMs,
      );
      this.#statuses = parseSystemctlShow(output, units);
      this.#health.succeeded('systemd');
    } catch (error) {
      this.#health.failed('systemd', new Error('cannot read unit states', { cause: error }));
    }
  }
}
