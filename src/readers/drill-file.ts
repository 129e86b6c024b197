import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
import { FileFormatError, nonNegativeNumber, object, oneOf, optionalNonNegativeNumber, parseJsonObject, requireSchema } from './json-fields.js';
import { JsonFileReader } from './json-file.js';

/** How `proof_ess.sh` drills (contract/README.md section 5). */
export const DRILL_MODES = ['dry-run', 'full'] as const;
export type DrillMode = (typeof DRILL_MODES)[number];
export const DRILL_RESULTS = ['pass', 'fail'] as const;
export type DrillResult = (typeof DRILL_RESULTS)[number];
/** The trigger methods a full drill proves, in its order (contract/README.md section 5). */
export const DRILL_METHODS = ['command', 'systemctl', 'touch', 'trip-request'] as const;
export type DrillMethod = (typeof DRILL_METHODS)[number];
export const DRILL_TRIGGER_RESULTS = ['pass', 'fail', 'not-run'] as const;

/** One trigger method of a full drill: its result and trigger -> all trading units down (null: not measured). */
export interface DrillTrigger {
  readonly method: DrillMethod;
  readonly result: (typeof DRILL_TRIGGER_RESULTS)[number];
  readonly latencySeconds: number | null;
}

/** What the exporter uses from STATE_DIR/drill.json (schema 1). */
export interface DrillRecord {
  /** The latest drill, whatever its outcome; null when none was ever recorded. */
  readonly last: {
    readonly time: number;
    readonly mode: DrillMode;
    readonly result: DrillResult;
    /** Full drills only; empty for a dry run or a file written before the drill proved each trigger. */
    readonly triggers: readonly DrillTrigger[];
  } | null;
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
      triggers: parseTriggers(last.triggers),
    },
    lastPass: {
      'dry-run': optionalNonNegativeNumber(lastPass['dry-run'], 'last_pass.dry-run'),
      full: optionalNonNegativeNumber(lastPass.full, 'last_pass.full'),
    },
  };
}

/** `last.triggers`: absent (a dry run, an older drill) or at most one entry per method. */
function parseTriggers(value: unknown): readonly DrillTrigger[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > DRILL_METHODS.length) {
    throw new FileFormatError(`last.triggers: expected an array of at most ${DRILL_METHODS.length} entries`);
  }
  return value.map((entry: unknown, i) => {
    const where = `last.triggers[${i}]`;
    const trigger = object(entry, where);
    const extra = Object.keys(trigger).filter((key) => !['method', 'result', 'latency_seconds'].includes(key));
    if (extra.length > 0) throw new FileFormatError(`${where}: unknown member ${extra.join(', ')}`);
    if (!('latency_seconds' in trigger)) throw new FileFormatError(`${where}.latency_seconds: missing`);
    return {
      method: oneOf(trigger.method, DRILL_METHODS, `${where}.method`),
      result: oneOf(trigger.result, DRILL_TRIGGER_RESULTS, `${where}.result`),
      latencySeconds: optionalNonNegativeNumber(trigger.latency_seconds, `${where}.latency_seconds`),
    };
  });
}

/** drill.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function drillFileReader(stateDir: string, health: ReadHealth): JsonFileReader<DrillRecord> {
  return new JsonFileReader(
    { path: join(stateDir, 'drill.json'), source: 'drill', maxBytes: MAX_BYTES, parse: parseDrillJson, whenMissing: NEVER_DRILLED },
    health,
  );
}
