import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';
import { FileFormatError, object, oneOf, optionalNonNegativeNumber, parseJsonObject, requireSchema, wholeNumber } from './json-fields.js';
import { JsonFileReader } from './json-file.js';

/**
 * What activate did to each trading unit (contract/README.md section 3); `exempt`: left running by a
 * re-verifying activation because of a maintenance exemption (section 5).
 */
export const UNIT_RESULTS = ['stopped', 'killed', 'leftovers-killed', 'already-inactive', 'not-found', 'not-stopped', 'exempt'] as const;
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

/** Parses state.json; missing or null sections mean "has not happened", anything malformed is refused. */
export function parseStateJson(text: string): EssState {
  const root = parseJsonObject(text);
  requireSchema(root, STATE_SCHEMA, 'controller');
  const activation = root.last_activation == null ? null : object(root.last_activation, 'last_activation');
  const deactivation = root.last_deactivation == null ? null : object(root.last_deactivation, 'last_deactivation');
  const tamper = root.last_tamper == null ? null : object(root.last_tamper, 'last_tamper');
  const totals = root.activations_total == null ? {} : object(root.activations_total, 'activations_total');
  const activationsTotal: Record<string, number> = {};
  for (const [source, value] of Object.entries(totals)) activationsTotal[source] = count(value, `activations_total.${source}`);
  return {
    lastActivation: activation && {
      triggerTime: optionalNonNegativeNumber(activation.trigger_time, 'last_activation.trigger_time'),
      latencySeconds: optionalNonNegativeNumber(activation.latency_seconds, 'last_activation.latency_seconds'),
      units: unitResults(activation.units),
    },
    lastDeactivationTime: deactivation && optionalNonNegativeNumber(deactivation.time, 'last_deactivation.time'),
    lastTamperTime: tamper && optionalNonNegativeNumber(tamper.time, 'last_tamper.time'),
    activationsTotal,
    tamperTotal: count(root.tamper_total ?? 0, 'tamper_total'),
    leftoverKillsTotal: count(root.leftover_kills_total ?? 0, 'leftover_kills_total'),
  };
}

function unitResults(value: unknown): UnitOutcome[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw new FileFormatError('last_activation.units: expected an array');
  return value.map((item: unknown, index) => {
    const where = `last_activation.units[${index}]`;
    const { unit, result } = object(item, where);
    if (typeof unit !== 'string' || unit === '') throw new FileFormatError(`${where}.unit: ${JSON.stringify(unit)} is not a unit name`);
    return { unit, result: oneOf(result, UNIT_RESULTS, `${where}.result`) };
  });
}

function count(value: unknown, where: string): number {
  return wholeNumber(value, where, 'a count');
}

/** state.json in STATE_DIR, as a reader the exporter polls at every scrape. */
export function stateFileReader(stateDir: string, health: ReadHealth): JsonFileReader<EssState> {
  return new JsonFileReader(
    { path: join(stateDir, 'state.json'), source: 'state', maxBytes: MAX_BYTES, parse: parseStateJson, whenMissing: NEVER_ACTIVATED },
    health,
  );
}
