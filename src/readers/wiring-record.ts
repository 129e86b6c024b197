import type { ReadHealth } from './read-health.js';
import { readBounded } from './read-bounded.js';
import type { UnitProperties } from '../verdict/latch-verdict.js';
import { parseWiringRecord } from '../verdict/wiring-record.js';

// The installer writes some 30 short lines; anything far larger is not its file.
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * The installer's record of the switch's wiring, read at every refresh (one small bounded read, like
 * the markers): the installer and a repair rewrite it. Missing or unreadable is "no record", which the
 * verdict takes as not armed; a read error also fails the `markers` source.
 */
export class WiringRecordReader {
  readonly #path: string;
  readonly #health: ReadHealth;
  #record: ReadonlyMap<string, UnitProperties> | null = null;

  constructor(path: string, health: ReadHealth) {
    this.#path = path;
    this.#health = health;
  }

  current(): ReadonlyMap<string, UnitProperties> | null {
    return this.#record;
  }

  async read(): Promise<void> {
    try {
      this.#record = parseWiringRecord(await readBounded(this.#path, MAX_RECORD_BYTES));
    } catch (error) {
      this.#record = null;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#health.failed('markers', new Error(`cannot read the wiring record ${this.#path}`, { cause: error }));
      }
    }
  }
}
