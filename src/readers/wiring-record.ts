/**
 * The installer's record of the switch's wiring (contract/README.md section 1): `wiring.installed`
 * beside the configuration in force, one `UNIT PROPERTY=VALUE` line per compared property, `#`
 * comments. deploy/lib/wiring.sh reads the same lines the same way.
 */
import { dirname, join } from 'node:path';
import { ChangedFile } from '../io/changed-file.js';
import type { UnitProperties } from './ess-units.js';
import type { ReadHealth } from './read-health.js';

export const WIRING_RECORD_NAME = 'wiring.installed';

/** Where the record of an installation lives: beside the ess.conf it was built from. */
export function wiringRecordPath(essConfigFile: string): string {
  return join(dirname(essConfigFile), WIRING_RECORD_NAME);
}

const LINE = /^([A-Za-z0-9@_.:-]+) ([A-Za-z]+)=(.*)$/;

/** Lines that are not records (comments, anything else) are skipped, as the bash side does. */
export function parseWiringRecord(text: string): Map<string, UnitProperties> {
  const units = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match === null || line.startsWith('#')) continue;
    const [, unit = '', property = '', value = ''] = match;
    const properties = units.get(unit) ?? new Map<string, string>();
    properties.set(property, value);
    units.set(unit, properties);
  }
  return units;
}

// The installer writes some 30 short lines; anything far larger is not its file.
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * The installer's record of the switch's wiring, looked at every refresh (ChangedFile: read again only
 * when it changed): the installer and a repair rewrite it. Missing or unreadable is "no record", which the
 * verdict takes as not armed; a read error also fails the `markers` source.
 */
export class WiringRecordReader {
  readonly #file: ChangedFile<ReadonlyMap<string, UnitProperties>>;
  readonly #health: ReadHealth;
  #record: ReadonlyMap<string, UnitProperties> | null = null;

  constructor(path: string, health: ReadHealth) {
    this.#file = new ChangedFile(path, MAX_RECORD_BYTES, parseWiringRecord);
    this.#health = health;
  }

  current(): ReadonlyMap<string, UnitProperties> | null {
    return this.#record;
  }

  async read(): Promise<void> {
    try {
      this.#record = (await this.#file.read()) ?? null;
    } catch (error) {
      this.#record = null;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#health.failed('markers', new Error(`cannot read the wiring record ${this.#file.path}`, { cause: error }));
      }
    }
  }
}
