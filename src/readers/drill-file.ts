import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
import { parseJsonObject, requireSchema, schemaError } from './json-fields.js';
import type { DRILL_MODES } from '../contract/values.generated.js';
import type { DrillFile } from '../contract/types.generated.js';
import { validateDrillFile } from '../contract/validators.generated.js';
import { JsonFileReader } from './json-file.js';

/** How `proof_ess.sh` drills (contract/README.md section 5). */
export { DRILL_MODES } from '../contract/values.generated.js';
export type DrillMode = (typeof DRILL_MODES)[number];
type Drill = DrillFile['last'];
export type DrillResult = Drill['result'];
/** A trigger method a full drill proves (contract/README.md section 5). */
export type DrillMethod = NonNullable<Drill['triggers']>[number]['method'];

/** One trigger method of a full drill: its result and trigger -> all trading units down (null: not measured). */
export interface DrillTrigger {
  readonly method: DrillMethod;
  readonly result: NonNullable<Drill['triggers']>[number]['result'];
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

/** Parses drill.json: the contract's schema 1 exactly (contract/drill.schema.json), or refused with the reason. */
export function parseDrillJson(text: string): DrillRecord {
  const root = parseJsonObject(text);
  requireSchema(root, DRILL_SCHEMA, 'proof_ess.sh');
  if (!validateDrillFile(root)) throw schemaError(validateDrillFile);
  const { last, last_pass: lastPass } = root;
  return {
    last: {
      time: last.time,
      mode: last.mode,
      result: last.result,
      triggers: (last.triggers ?? []).map((trigger) => ({ method: trigger.method, result: trigger.result, latencySeconds: trigger.latency_seconds })),
    },
    lastPass: { 'dry-run': lastPass['dry-run'], full: lastPass.full },
  };
}

/** drill.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function drillFileReader(stateDir: string, health: ReadHealth): JsonFileReader<DrillRecord> {
  return new JsonFileReader(
    { path: join(stateDir, 'drill.json'), source: 'drill', maxBytes: MAX_BYTES, parse: parseDrillJson, whenMissing: NEVER_DRILLED },
    health,
  );
}
