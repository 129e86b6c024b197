/**
 * The one definition of armed / active / violation / tampered / ... (contract/README.md section 1),
 * pure: the exporter gathers the inputs, deploy/lib/verdict.sh computes the same from the same inputs,
 * and test/contract holds both to contract/fixtures/verdict.
 */
import type { Populated } from '../readers/cgroup.js';
import { FLAG_WATCHER_UNIT, TRIGGER_UNIT, TRIP_WATCHER_UNIT, type UnitProperties, WIRING_UNITS, wiringProperties } from '../readers/ess-units.js';
import type { AssertEntry } from '../readers/unit-asserts.js';
import { isRunningState } from '../readers/unit-status.js';

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

/** Whether systemd itself refuses to start the unit while latched. */
export type Guard = 'yes' | 'no' | 'absent' | 'unknown';
/** Whether a wiring unit is loaded as the installer recorded it. */
export type Wiring = 'ok' | 'differs' | 'unknown' | 'unrecorded';

export interface WiringDifference {
  readonly unit: string;
  readonly property: string;
  readonly expected: string;
  readonly found: string;
}

export interface TradingUnitInputs {
  readonly loadState: string;
  readonly activeState: string;
  readonly populated: Populated;
  /**
   * Whether the slice of the unit's User= (`user.slice/user-UID.slice`: its login sessions and its own
   * manager, the only place an unprivileged service can move a helper to) holds processes; `no` for root.
   */
  readonly userSlice: Populated;
  /** The unit's Asserts property, entry by entry; null when it could not be read. */
  readonly asserts: readonly AssertEntry[] | null;
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
  /**
   * The controller found the installed configuration snapshot not checking out (its config-problem
   * marker): a trigger would stop from the latch drop-ins instead of the installed list. Optional, default false.
   */
  readonly configProblem?: boolean;
  readonly systemdOk: boolean;
  readonly trading: ReadonlyMap<string, TradingUnitInputs>;
  /** ActiveState of the switch units; a unit missing here counts as not active. */
  readonly switchStates: ReadonlyMap<string, string>;
  /** A directory on the way to the flag is a symbolic link: the flag behind it never counts. */
  readonly flagDirRedirected: boolean;
  /** The installer's record (wiring.installed) by unit; null when there is none. */
  readonly wiringRecord: ReadonlyMap<string, UnitProperties> | null;
  /** What systemd has loaded for each wiring unit (LoadState and the compared properties). */
  readonly wiring: ReadonlyMap<string, UnitProperties>;
}

/** The paths the latch drop-in asserts on, from ess.conf. */
export interface LatchPaths {
  readonly flagFile: string;
  readonly stateDir: string;
  readonly spoolDir: string;
}

export interface TradingUnitVerdict {
  readonly guard: Guard;
  /** LoadState read and neither loaded nor masked: no trigger stops or latches what the name means. */
  readonly notLoaded: boolean;
  readonly running: boolean;
  readonly populated: Populated;
  readonly userSlice: Populated;
  readonly exempt: boolean;
}

export interface LatchVerdict {
  readonly verdict: VerdictWord;
  readonly exitCode: number;
  readonly latched: boolean;
  readonly armed: boolean;
  readonly violations: number;
  readonly units: ReadonlyMap<string, TradingUnitVerdict>;
  readonly wiring: ReadonlyMap<string, Wiring>;
  readonly wiringDifferences: readonly WiringDifference[];
}

export function persistedLatchPath(paths: LatchPaths): string {
  return `${paths.stateDir}/latched`;
}

/** One of the latch drop-in's assertions: non-triggering and negated (`AssertPathExists=!PATH`). */
function assertsNegated(entries: readonly AssertEntry[], assertion: string, path: string): boolean {
  return entries.some(({ type, trigger, negate, parameter }) => type === assertion && !trigger && negate && parameter === path);
}

export function guardOf(unit: TradingUnitInputs, paths: LatchPaths): Guard {
  // systemd cannot start a unit it has no file for, or one that is masked.
  if (unit.loadState === 'not-found' || unit.loadState === 'masked') return 'absent';
  const entries = unit.asserts;
  if (entries === null) return 'unknown';
  // An emptied AssertPathExists= or AssertDirectoryNotEmpty=, a revert or an added triggering `|`
  // variant all lose one of them; a trip request in the spool latches through the third.
  const all =
    assertsNegated(entries, 'AssertPathExists', paths.flagFile) &&
    assertsNegated(entries, 'AssertPathExists', persistedLatchPath(paths)) &&
    assertsNegated(entries, 'AssertDirectoryNotEmpty', `${paths.spoolDir}/incoming`);
  return all ? 'yes' : 'no';
}

/**
 * LoadState read and neither `loaded` nor `masked`: `not-found` (no such unit, a typo in TRADING_UNITS),
 * `bad-setting`, `error`. The ESS can neither stop nor latch it, and a real unit of another name may be
 * trading, so the switch is never armed over it. An unread LoadState ('') is not judged here.
 */
export function isNotLoaded(loadState: string): boolean {
  return loadState !== '' && loadState !== 'loaded' && loadState !== 'masked';
}

export function computeVerdict(inputs: VerdictInputs, paths: LatchPaths): LatchVerdict {
  const units = new Map<string, TradingUnitVerdict>();
  for (const [unit, observed] of inputs.trading) {
    units.set(unit, {
      guard: guardOf(observed, paths),
      notLoaded: isNotLoaded(observed.loadState),
      running: isRunningState(observed.activeState),
      populated: observed.populated,
      userSlice: observed.userSlice,
      exempt: observed.exempt,
    });
  }
  const all = [...units.values()];
  // An exempt unit is left out of violations and unguarded only: a guard or cgroup of it that cannot be
  // read still makes the verdict unknown, as the exemption ends at its `until` and the unit is judged again.
  const judged = all.filter((u) => !u.exempt);
  // Behind a link the flag is wherever the link points, and what lies there depends on who looks (the
  // exporter has a private /tmp): a flag behind a redirected directory never counts, on either side.
  const flag = inputs.flag && !inputs.flagDirRedirected;
  const latched = flag || inputs.latchedFile;
  const violations = latched
    ? judged.filter((u) => u.running || u.populated === 'yes' || u.userSlice === 'yes' || u.guard === 'no').length
    : 0;
  const unguarded = judged.filter((u) => u.guard === 'no').length;
  const isActive = (unit: string): boolean => inputs.switchStates.get(unit) === 'active';
  // A trigger service left active without the flag would swallow the next touch of the flag.
  const switchOk =
    isActive(FLAG_WATCHER_UNIT) && isActive(TRIP_WATCHER_UNIT) && !(isActive(TRIGGER_UNIT) && !flag) && !inputs.flagDirRedirected;
  const { wiring, differences } = judgeWiring(inputs.wiringRecord, inputs.wiring);
  const wiringOk = [...wiring.values()].every((word) => word === 'ok');
  const missing = all.filter((u) => u.notLoaded).length;
  const armed = switchOk && wiringOk && unguarded === 0 && missing === 0 && inputs.configProblem !== true;
  const unknown =
    !inputs.systemdOk ||
    all.some((u) => u.guard === 'unknown' || u.populated === 'unknown' || u.userSlice === 'unknown') || [...wiring.values()].includes('unknown');

  let verdict: VerdictWord;
  if (latched && violations > 0) verdict = 'violation';
  else if (unknown) verdict = 'unknown';
  else if (latched && !flag) verdict = 'tampered';
  else if (latched && (!inputs.latchedFile || inputs.persistProblem)) verdict = 'not-persisted';
  else if (latched) verdict = 'active';
  else if (inputs.resumePending) verdict = 'resume-interrupted';
  else if (!armed) verdict = 'not-armed';
  else verdict = 'armed';
  return { verdict, exitCode: VERDICT_EXIT_CODES[verdict], latched, armed, violations, units, wiring, wiringDifferences: differences };
}

/**
 * Each wiring unit loaded as recorded: `differs` when not loaded or a compared property is not the
 * recorded one, `unknown` when one could not be read, `unrecorded` without a record.
 */
export function judgeWiring(
  record: ReadonlyMap<string, UnitProperties> | null,
  found: ReadonlyMap<string, UnitProperties>,
): { wiring: Map<string, Wiring>; differences: WiringDifference[] } {
  const wiring = new Map<string, Wiring>();
  const differences: WiringDifference[] = [];
  for (const unit of WIRING_UNITS) {
    if (record === null) {
      wiring.set(unit, 'unrecorded');
      continue;
    }
    const loaded = found.get(unit);
    const loadState = loaded?.get('LoadState');
    if (loadState === undefined) {
      wiring.set(unit, 'unknown');
      continue;
    }
    if (loadState !== 'loaded') {
      differences.push({ unit, property: 'LoadState', expected: 'loaded', found: loadState });
      wiring.set(unit, 'differs');
      continue;
    }
    let word: Wiring = 'ok';
    let unread = false;
    for (const property of wiringProperties(unit)) {
      const value = loaded?.get(property);
      if (value === undefined) {
        unread = true;
        continue;
      }
      // a property the record lacks never matches
      const expected = record.get(unit)?.get(property) ?? '(not recorded)';
      if (value !== expected) {
        differences.push({ unit, property, expected, found: value });
        word = 'differs';
      }
    }
    wiring.set(unit, word === 'ok' && unread ? 'unknown' : word);
  }
  return { wiring, differences };
}
