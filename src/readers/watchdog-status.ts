import { join } from 'node:path';
import type { WatchdogStatus } from '../contract/types.generated.js';
import { validateWatchdogStatus } from '../contract/validators.generated.js';
import { describe, type Log } from '../io/log.js';
import { readBounded } from '../io/read-bounded.js';
import { parseJsonObject, schemaError } from './json-fields.js';

export type { WatchdogStatus };

/** In the runtime directory: what the last `ess_controller.sh watchdog check` found (contract/README.md section 8). */
export const WATCHDOG_STATUS_FILE = 'watchdog.json';
const MAX_BYTES = 4096;

/** Parses the root side's one JSON line; anything else is refused. */
export function parseWatchdogStatus(content: string): WatchdogStatus {
  const record = parseJsonObject(content);
  if (!validateWatchdogStatus(record)) throw schemaError(validateWatchdogStatus);
  return record;
}

/**
 * The dead man's switch as the root side last judged it. Missing (WATCHDOG_ACTION=off never checked, or
 * not yet after a boot) is null; a file that cannot be used is logged when its problem changes and
 * counts as null too, so the metrics say "unknown" rather than a stale "fresh".
 */
export class WatchdogStatusReader {
  readonly #path: string;
  #current: WatchdogStatus | null = null;
  #problem = '';

  constructor(
    runtimeDir: string,
    private readonly log: Log,
  ) {
    this.#path = join(runtimeDir, WATCHDOG_STATUS_FILE);
  }

  current(): WatchdogStatus | null {
    return this.#current;
  }

  async read(): Promise<void> {
    try {
      this.#current = parseWatchdogStatus(await readBounded(this.#path, MAX_BYTES));
      this.#problem = '';
    } catch (error) {
      this.#current = null;
      const problem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? '' : describe(new Error(`cannot use ${this.#path}`, { cause: error }));
      if (problem !== '' && problem !== this.#problem) this.log(`watchdog: ${problem}`, 'warning');
      this.#problem = problem;
    }
  }
}
