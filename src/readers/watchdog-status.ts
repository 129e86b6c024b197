import { join } from 'node:path';
import type { WatchdogStatus } from '../contract/types.generated.js';
import { validateWatchdogStatus } from '../contract/validators.generated.js';
import { describe, type Log } from '../io/log.js';
import { readFileSync } from 'node:fs';
import { ChangedFile } from '../io/changed-file.js';
import { parseJsonObject, schemaError } from './json-fields.js';

export type { WatchdogStatus };

/** In the runtime directory: what the last `ess_controller.sh watchdog check` found (contract/README.md section 8). */
export const WATCHDOG_STATUS_FILE = 'watchdog.json';
/**
 * A check older than this on the uptime clock is stale: the timer runs it every 5 s (contract/names.json
 * watchdog_check_stale_sec; deploy/lib/watchdog.sh WD_CHECK_STALE_SEC is the same bound).
 */
export const WATCHDOG_CHECK_STALE_SEC = 30;
/** The uptime clock the check writes uptime_us on (CLOCK_BOOTTIME). */
export const UPTIME_FILE = '/proc/uptime';
const MAX_BYTES = 4096;

/** Parses the root side's one JSON line; anything else is refused. */
export function parseWatchdogStatus(content: string): WatchdogStatus {
  const record = parseJsonObject(content);
  if (!validateWatchdogStatus(record)) throw schemaError(validateWatchdogStatus);
  return record;
}

/** Seconds since the boot from /proc/uptime's first field. */
export function parseUptimeSec(content: string): number {
  const match = /^(\d+(?:\.\d+)?) /.exec(content);
  if (match === null) throw new Error(`not an uptime: ${JSON.stringify(content.slice(0, 40))}`);
  return Number(match[1]);
}

/**
 * The dead man's switch as the root side last judged it. Missing (WATCHDOG_ACTION=off never checked, or
 * not yet after a boot) is null; a file that cannot be used is logged when its problem changes and
 * counts as null too, so the metrics say "unknown" rather than a stale "fresh". stale() says whether
 * the switch is looking at all: no usable record, or one older than WATCHDOG_CHECK_STALE_SEC.
 */
export class WatchdogStatusReader {
  readonly #file: ChangedFile<WatchdogStatus>;
  #current: WatchdogStatus | null = null;
  #ageSec: number | null = null;
  #problem = '';

  constructor(
    runtimeDir: string,
    private readonly log: Log,
    private readonly uptimeFile = UPTIME_FILE,
  ) {
    this.#file = new ChangedFile(join(runtimeDir, WATCHDOG_STATUS_FILE), MAX_BYTES, parseWatchdogStatus);
  }

  current(): WatchdogStatus | null {
    return this.#current;
  }

  /** True when the last check is not recent enough to be believed (or there is none). */
  stale(): boolean {
    return this.#ageSec === null || this.#ageSec > WATCHDOG_CHECK_STALE_SEC;
  }

  async read(): Promise<void> {
    try {
      const status = (await this.#file.read()) ?? null;
      // the kernel's clock, not a file anyone writes: a plain read, without the thread pool
      this.#ageSec = status === null ? null : parseUptimeSec(readFileSync(this.uptimeFile, 'utf8')) - status.uptime_us / 1e6;
      this.#current = status;
      this.#problem = '';
    } catch (error) {
      this.#current = null;
      this.#ageSec = null;
      const problem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? '' : describe(new Error(`cannot use ${this.#file.path}`, { cause: error }));
      if (problem !== '' && problem !== this.#problem) this.log(`watchdog: ${problem}`, 'warning');
      this.#problem = problem;
    }
  }
}
