/**
 * The installer's record of the switch's wiring (contract/README.md section 1): `wiring.installed`
 * beside the configuration in force, one `UNIT PROPERTY=VALUE` line per compared property, `#`
 * comments. deploy/lib/wiring.sh reads the same lines the same way.
 */
import { dirname, join } from 'node:path';
import type { UnitProperties } from './latch-verdict.js';

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
