import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
import { parseJsonObject, requireSchema, schemaError } from './json-fields.js';
import type { ActionResult } from '../contract/types.generated.js';
import type { UNIT_RESULTS } from '../contract/values.generated.js';
import { validateStateFile } from '../contract/validators.generated.js';
import { JsonFileReader } from './json-file.js';

/**
 * What activate did to each trading unit (contract/README.md section 3); `exempt`: left running by a
 * re-verifying activation because of a maintenance exemption (section 5).
 */
export { UNIT_RESULTS } from '../contract/values.generated.js';
export type UnitResult = (typeof UNIT_RESULTS)[number];

export interface UnitOutcome {
  readonly unit: string;
  readonly result: UnitResult;
}

/** What the exporter uses from the controller's state.json (schema 2). */
export interface EssState {
  readonly lastActivation: {
    readonly triggerTime: number | null;
    /** null when not every trading unit stopped. */
    readonly latencySeconds: number | null;
    readonly units: readonly UnitOutcome[];
    /** The on-trip actions' results for this activation, as each action's result file holds them (section 9). */
    readonly actions: readonly ActionResult[];
  } | null;
  readonly lastDeactivationTime: number | null;
  readonly lastTamperTime: number | null;
  readonly activationsTotal: Readonly<Record<string, number>>;
  readonly tamperTotal: number;
  readonly leftoverKillsTotal: number;
}

export const NEVER_ACTIVATED: EssState = {
  lastActivation: null,
  lastDeactivationTime: null,
  lastTamperTime: null,
  activationsTotal: {},
  tamperTotal: 0,
  leftoverKillsTotal: 0,
};

export const STATE_SCHEMA = 2;

// The controller writes a few hundred bytes; anything far larger is not its file.
const MAX_BYTES = 64 * 1024;

/** Parses state.json: the contract's schema 2 exactly (contract/state.schema.json), or refused with the reason. */
export function parseStateJson(text: string): EssState {
  const root = parseJsonObject(text);
  requireSchema(root, STATE_SCHEMA, 'controller');
  if (!validateStateFile(root)) throw schemaError(validateStateFile);
  const activation = root.last_activation;
  return {
    lastActivation: activation && {
      triggerTime: activation.trigger_time,
      latencySeconds: activation.latency_seconds,
      units: activation.units.map(({ unit, result }) => ({ unit, result })),
      // files written before the member existed lack it: no result recorded
      actions: activation.actions ?? [],
    },
    lastDeactivationTime: root.last_deactivation?.time ?? null,
    lastTamperTime: root.last_tamper?.time ?? null,
    activationsTotal: root.activations_total,
    tamperTotal: root.tamper_total,
    leftoverKillsTotal: root.leftover_kills_total,
  };
}

/** state.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function stateFileReader(stateDir: string, health: ReadHealth): JsonFileReader<EssState> {
  return new JsonFileReader(
    { path: join(stateDir, 'state.json'), source: 'state', maxBytes: MAX_BYTES, parse: parseStateJson, whenMissing: NEVER_ACTIVATED },
    health,
  );
}
