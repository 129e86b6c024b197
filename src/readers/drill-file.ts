import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
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

export class DrillFormatError extends Error {
  override name = 'DrillFormatError';
}

/** Parses drill.json; a missing or null `last`/`last_pass` entry means "has not happened", anything malformed is refused. */
export function parseDrillJson(text: string): DrillRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DrillFormatError('not valid JSON', { cause: error });
  }
  const root = object(json, '(top level)');
  if (root.schema !== DRILL_SCHEMA) {
    throw new DrillFormatError(`schema: expected ${DRILL_SCHEMA}, got ${JSON.stringify(root.schema)} (exporter and proof_ess.sh from different releases?)`);
  }
  const last = root.last == null ? null : object(root.last, 'last');
  const lastPass = root.last_pass == null ? {} : object(root.last_pass, 'last_pass');
  return {
    last: last && {
      time: timestamp(last.time, 'last.time'),
      mode: oneOf(last.mode, DRILL_MODES, 'last.mode'),
      result: oneOf(last.result, DRILL_RESULTS, 'last.result'),
    },
    lastPass: {
      'dry-run': lastPass['dry-run'] == null ? null : timestamp(lastPass['dry-run'], 'last_pass.dry-run'),
      full: lastPass.full == null ? null : timestamp(lastPass.full, 'last_pass.full'),
    },
  };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DrillFormatError(`${where}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function timestamp(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new DrillFormatError(`${where}: ${JSON.stringify(value)} is not a non-negative number`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, words: readonly T[], where: string): T {
  if (!words.includes(value as T)) throw new DrillFormatError(`${where}: ${JSON.stringify(value)} is not one of ${words.join(', ')}`);
  return value as T;
}

/** drill.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function drillFileReader(stateDir: string, health: ReadHealth): JsonFileReader<DrillRecord> {
  return new JsonFileReader(
    { path: join(stateDir, 'drill.json'), source: 'drill', maxBytes: MAX_BYTES, parse: parseDrillJson, whenMissing: NEVER_DRILLED },
    health,
  );
}
