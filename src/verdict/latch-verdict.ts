/**
 * The one definition of armed / active / violation / tampered / ... (contract/README.md section 1),
 * pure: the exporter gathers the inputs, deploy/lib/verdict.sh computes the same from the same inputs,
 * and test/contract holds both to contract/fixtures/verdict.
 */
import { type AssertEntry, parseAsserts } from './busctl-asserts.js';

/** Verdict words in the order they are decided, with the exit code of `ess_controller.sh status`. */
export const VERDICT_EXIT_CODES = {
  violation: 4,
  unknown: 1,
  tampered: 6,
  'not-persisted': 7,
  active: 3,
  'resume-interrupted': 8,
  'not-armed': 5,
  armed: 0,
} as const;
export type VerdictWord = keyof typeof VERDICT_EXIT_CODES;
export const VERDICT_WORDS = Object.keys(VERDICT_EXIT_CODES) as VerdictWord[];

/** The ESS's own units whose state arms the switch (installed under these fixed names). */
export const FLAG_WATCHER_UNIT = 'quantum-ess.path';
export const TRIP_WATCHER_UNIT = 'quantum-ess-trip.path';
export const TRIGGER_UNIT = 'quantum-ess-trigger.service';
export const SWITCH_UNITS = [FLAG_WATCHER_UNIT, TRIP_WATCHER_UNIT, TRIGGER_UNIT] as const;

/** Whether a unit's cgroup holds processes (its whole subtree); `unknown` when that cannot be read. */
export type Populated = 'yes' | 'no' | 'unknown';
/** Whether systemd itself refuses to start the unit while latched. */
export type Guard = 'yes' | 'no' | 'absent' | 'unknown';

export interface TradingUnitInputs {
  readonly loadState: string;
  readonly activeState: string;
  readonly populated: Populated;
  /** busctl's text of the unit's Asserts property; empty when it could not be read. */
  readonly asserts: string;
  /**
   * A current maintenance exemption (contract section 5): the controller has lifted this one unit's
   * latch on purpose, so neither its running nor its reset assertions are a violation or disarm.
   */
  readonly exempt: boolean;
}

export interface VerdictInputs {
  readonly flag: boolean;
  readonly latchedFile: boolean;
  readonly persistProblem: boolean;
  readonly resumePending: boolean;
  readonly systemdOk: boolean;
  readonly trading: ReadonlyMap<string, TradingUnitInputs>;
  /** ActiveState of the switch units; a unit missing here counts as not active. */
  readonly switchStates: ReadonlyMap<string, string>;
}

/** The two paths the latch drop-in asserts on, from ess.conf. */
export interface LatchPaths {
  readonly flagFile: string;
  readonly stateDir: string;
}

export interface TradingUnitVerdict {
  readonly guard: Guard;
  readonly running: boolean;
  readonly populated: Populated;
  readonly exempt: boolean;
}

export interface LatchVerdict {
  readonly verdict: VerdictWord;
  readonly exitCode: number;
  readonly latched: boolean;
  readonly armed: boolean;
  readonly violations: number;
  readonly units: ReadonlyMap<string, TradingUnitVerdict>;
}

export function persistedLatchPath(paths: LatchPaths): string {
  return `${paths.stateDir}/latched`;
}

/** The latch drop-in's assertion on `path`: non-triggering and negated (`AssertPathExists=!PATH`). */
function assertsAbsence(entries: readonly AssertEntry[], path: string): boolean {
  return entries.some(({ type, trigger, negate, parameter }) => type === 'AssertPathExists' && !trigger && negate && parameter === path);
}

export function guardOf(unit: TradingUnitInputs, paths: LatchPaths): Guard {
  // systemd cannot start a unit it has no file for, or one that is masked.
  if (unit.loadState === 'not-found' || unit.loadState === 'masked') return 'absent';
  const entries = parseAsserts(unit.asserts);
  if (entries === null) return 'unknown';
  // An emptied AssertPathExists=, a revert or an added triggering `|` variant all lose one of the two.
  return assertsAbsence(entries, paths.flagFile) && assertsAbsence(entries, persistedLatchPath(paths)) ? 'yes' : 'no';
}

const RUNNING_STATES: ReadonlySet<string> = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);

/** Running or on its way up or down; maintenance, inactive and failed are not (the cgroup check covers leftovers). */
export function isRunningState(activeState: string): boolean {
  return RUNNING_STATES.has(activeState);
}

export function computeVerdict(inputs: VerdictInputs, paths: LatchPaths): LatchVerdict {
  const units = new Map<string, TradingUnitVerdict>();
  for (const [unit, observed] of inputs.trading) {
    units.set(unit, {
      guard: guardOf(observed, paths),
      running: isRunningState(observed.activeState),
      populated: observed.populated,
      exempt: observed.exempt,
    });
  }
  const all = [...units.values()];
  // An exempt unit is left out of violations and unguarded only: a guard or cgroup of it that cannot be
  // read still makes the verdict unknown, as the exemption ends at its `until` and the unit is judged again.
  const judged = all.filter((u) => !u.exempt);
  const latched = inputs.flag || inputs.latchedFile;
  const violations = latched ? judged.filter((u) => u.running || u.populated === 'yes' || u.guard === 'no').length : 0;
  const unguarded = judged.filter((u) => u.guard === 'no').length;
  const isActive = (unit: string): boolean => inputs.switchStates.get(unit) === 'active';
  // A trigger service left active without the flag would swallow the next touch of the flag.
  const switchOk = isActive(FLAG_WATCHER_UNIT) && isActive(TRIP_WATCHER_UNIT) && !(isActive(TRIGGER_UNIT) && !inputs.flag);
  const armed = switchOk && unguarded === 0;
  const unknown = !inputs.systemdOk || all.some((u) => u.guard === 'unknown' || u.populated === 'unknown');

  let verdict: VerdictWord;
  if (latched && violations > 0) verdict = 'violation';
  else if (unknown) verdict = 'unknown';
  else if (latched && !inputs.flag) verdict = 'tampered';
  else if (latched && (!inputs.latchedFile || inputs.persistProblem)) verdict = 'not-persisted';
  else if (latched) verdict = 'active';
  else if (inputs.resumePending) verdict = 'resume-interrupted';
  else if (!armed) verdict = 'not-armed';
  else verdict = 'armed';
  return { verdict, exitCode: VERDICT_EXIT_CODES[verdict], latched, armed, violations, units };
}
