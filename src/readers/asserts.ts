import { CachedRun } from './cached-run.js';
import type { ReadHealth } from './read-health.js';
import { runBounded } from '../io/run-bounded.js';

export interface AssertsReaderOptions {
  readonly busctlPath: string;
  readonly timeoutMs: number;
  /** How long results are reused before busctl runs again. */
  readonly cacheMs: number;
  readonly units: readonly string[];
}

/**
 * systemd's D-Bus object path of a unit: every byte outside [A-Za-z0-9] of its name written as `_`
 * and two lowercase hex digits (`quantum-execution.service` -> `.../unit/quantum_2dexecution_2eservice`).
 */
export function unitObjectPath(unit: string): string {
  const label = [...Buffer.from(unit, 'utf8')].map((byte) => {
    const char = String.fromCharCode(byte);
    return /^[A-Za-z0-9]$/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  });
  return `/org/freedesktop/systemd1/unit/${label.join('')}`;
}

/**
 * Each trading unit's Asserts property, the text busctl prints (systemctl show cannot print it), one
 * bounded busctl per unit and refresh, cached like the unit states. Unlike the unit states, a unit
 * whose busctl failed gets empty text rather than its last known text: the contract takes empty
 * asserts as "guard unknown", and stale asserts could hide a drop-in that just disabled the latch.
 */
export class AssertsReader {
  readonly #options: AssertsReaderOptions;
  readonly #health: ReadHealth;
  readonly #cache: CachedRun;
  #asserts: ReadonlyMap<string, string> = new Map();

  constructor(options: AssertsReaderOptions, health: ReadHealth, now: () => number = Date.now) {
    this.#options = options;
    this.#health = health;
    this.#cache = new CachedRun(() => this.#run(), options.cacheMs, now);
  }

  /** Units never read are missing, which counts as empty text. */
  current(): ReadonlyMap<string, string> {
    return this.#asserts;
  }

  /** The next refresh runs busctl even if the cached result is recent. */
  invalidate(): void {
    this.#cache.invalidate();
  }

  async refresh(): Promise<ReadonlyMap<string, string>> {
    await this.#cache.refresh();
    return this.#asserts;
  }

  async #run(): Promise<void> {
    const failures: Error[] = [];
    const texts = await Promise.all(
      this.#options.units.map(async (unit) => {
        try {
          return [unit, await this.#readOne(unit)] as const;
        } catch (error) {
          failures.push(new Error(`cannot read the Asserts of ${unit}`, { cause: error }));
          return [unit, ''] as const;
        }
      }),
    );
    this.#asserts = new Map(texts);
    const [first] = failures;
    if (first === undefined) this.#health.succeeded('asserts');
    else if (failures.length === 1) this.#health.failed('asserts', first);
    else this.#health.failed('asserts', new Error(`${failures.length} of ${texts.length} busctl reads failed`, { cause: first }));
  }

  #readOne(unit: string): Promise<string> {
    const { busctlPath, timeoutMs } = this.#options;
    return runBounded(
      busctlPath,
      ['get-property', 'org.freedesktop.systemd1', unitObjectPath(unit), 'org.freedesktop.systemd1.Unit', 'Asserts'],
      timeoutMs,
    );
  }
}
