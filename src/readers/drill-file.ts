import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
import { nonNegativeNumber, object, oneOf, optionalNonNegativeNumber, parseJsonObject, requireSchema } from './json-fields.js';
import { JsonFileReader } from './json-file.js';

/** How `proof_ess.sh` drills (contract/README.md section 5). */
export const DRILL_MODES = ['dry-run', 'full'] as const;
export type DrillMode = (typeof DRILL_MODES)[number];
export const DRILL_RESULTS = ['pass', 'fail'] as const;
export type DrillResult = (typeof DRILL_RESULTS)[number];

/** What the exporter uses from STATE_DIR/drill.json (schema 1). */
export interface DrillRecord {
  /** The latest drill, whatever its outcome; null when none was ever recorded. */
  readonly last: { readonly time: number; readonly mode: DrillMode; readonly result: DrillResult } | null;
  /** When a drill of each mode last passed; null while none has. */
  readonly lastPass: Readonly<Record<DrillMode, number | null>>;
}

export const NEVER_DRILLED: DrillRecord = { last: null, lastPass: { 'dry-run': null, full: null } };

export const DRILL_SCHEMA = 1;

// proof_ess.sh writes about 150 bytes; anything far larger is not its file.
const MAX_BYTES = 16 * 1024;

/** Parses drill.json; a missing or null `last`/`last_pass` entry means "has not happened", anything malformed is refused. */
export function parseDrillJson(text: string): DrillRecord {
  const root = parseJsonObject(text);
  requireSchema(root, DRILL_SCHEMA, 'proof_ess.sh');
  const last = root.last == null ? null : object(root.last, 'last');
  const lastPass = root.last_pass == null ? {} : object(root.last_pass, 'last_pass');
  return {
    last: last && {
      time: nonNegativeNumber(last.time, 'last.time'),
      mode: oneOf(last.mode, DRILL_MODES, 'last.mode'),
      result: oneOf(last.result, DRILL_RESULTS, 'last.result'),
    },
    lastPass: {
      'dry-run': optionalNonNegativeNumber(lastPass['dry-run'], 'last_pass.dry-run'),
      full: optionalNonNegativeNumber(lastPass.full, 'last_pass.full'),
    },
  };
}

/** drill.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function drillFileReader(stateDir: string, health: ReadHealth): JsonFileReader<DrillRecord> {
  return new JsonFileReader(
    { path: join(stateDir, 'drill.json'), source: 'drill', maxBytes: MAX_BYTES, parse: parseDrillJson, whenMissing: NEVER_DRILLED },
    health,
  );
}
