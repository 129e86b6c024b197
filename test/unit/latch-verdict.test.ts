import { parseAsserts } from '../../sandbox/busctl-asserts.js';
import { describe, expect, it } from 'vitest';
import { WIRING_UNITS, wiringProperties } from '../../src/readers/ess-units.js';
import { isRunningState } from '../../src/readers/unit-status.js';
import {
  computeVerdict,
  guardOf,
  type TradingUnitInputs,
  VERDICT_EXIT_CODES,
  VERDICT_WORDS,
  type VerdictInputs,
} from '../../src/verdict/latch-verdict.js';

const PATHS = { flagFile: '/run/q/ESS_ON', stateDir: '/var/lib/q', spoolDir: '/var/spool/q' };
const entry = (path: string, trigger = false, negate = true): string => ` "AssertPathExists" ${String(trigger)} ${String(negate)} "${path}" 0`;
const SPOOL = ' "AssertDirectoryNotEmpty" false true "/var/spool/q/incoming" 0';
const GUARDED = `a(sbbsi) 3${entry(PATHS.flagFile)}${entry('/var/lib/q/latched')}${SPOOL}`;
/** Every wiring unit loaded exactly as recorded (the values are arbitrary but equal). */
const RECORD = new Map(WIRING_UNITS.map((unit) => [unit, new Map(wiringProperties(unit).map((p) => [p, `${unit} ${p}`]))] as const));
const LOADED = new Map([...RECORD].map(([unit, props]) => [unit, new Map([...props, ['LoadState', 'loaded']])] as const));

/** A trading unit; its asserts in the contract's text form, converted as the tests' fake systemd does. */
function unit(overrides: Partial<Omit<TradingUnitInputs, 'asserts'>> & { asserts?: string } = {}): TradingUnitInputs {
  const { asserts = GUARDED, ...rest } = overrides;
  return { loadState: 'loaded', activeState: 'inactive', populated: 'no', userSlice: 'no', exempt: false, ...rest, asserts: parseAsserts(asserts) };
}

function inputs(overrides: Partial<VerdictInputs> = {}, units: Record<string, Parameters<typeof unit>[0]> = {}): VerdictInputs {
  return {
    flag: false,
    latchedFile: false,
    persistProblem: false,
    resumePending: false,
    systemdOk: true,
    trading: new Map(['a.service', 'b.service'].map((name) => [name, unit(units[name])])),
    switchStates: new Map([
      ['quantum-ess.path', 'active'],
      ['quantum-ess-trip.path', 'active'],
      ['quantum-ess-trigger.service', 'inactive'],
    ]),
    flagDirRedirected: false,
    wiringRecord: RECORD,
    wiring: LOADED,
    ...overrides,
  };
}

const LATCHED = { flag: true, latchedFile: true };

describe('guardOf', () => {
  it.each([
    ['all three negated, non-triggering assertions', unit(), 'yes'],
    ['no spool assertion', unit({ asserts: `a(sbbsi) 2${entry(PATHS.flagFile)}${entry('/var/lib/q/latched')}` }), 'no'],
    ['not installed', unit({ loadState: 'not-found', asserts: '' }), 'absent'],
    ['masked', unit({ loadState: 'masked', asserts: 'garbage' }), 'absent'],
    ['unreadable asserts', unit({ asserts: '' }), 'unknown'],
    ['asserts that do not parse', unit({ asserts: 'a(sbbsi) 3' }), 'unknown'],
    ['no assertions', unit({ asserts: 'a(sbbsi) 0' }), 'no'],
    ['only the flag', unit({ asserts: `a(sbbsi) 1${entry(PATHS.flagFile)}` }), 'no'],
    ['a triggering flag assertion', unit({ asserts: `a(sbbsi) 3${entry(PATHS.flagFile, true)}${entry('/var/lib/q/latched')}${SPOOL}` }), 'no'],
    ['a flag assertion without !', unit({ asserts: `a(sbbsi) 3${entry(PATHS.flagFile, false, false)}${entry('/var/lib/q/latched')}${SPOOL}` }), 'no'],
  ] as const)('%s: %s', (_what, observed, guard) => {
    expect(guardOf(observed, PATHS)).toBe(guard);
  });
});

describe('isRunningState', () => {
  it('counts units up, on the way up or down and reloading as running; maintenance, inactive and failed not', () => {
    expect(['active', 'activating', 'deactivating', 'reloading', 'refreshing'].every(isRunningState)).toBe(true);
    expect(['inactive', 'failed', 'maintenance', ''].some(isRunningState)).toBe(false);
  });
});

describe('computeVerdict', () => {
  it('maps every word to the exit code of ess_controller.sh status, in the order they are decided', () => {
    expect(VERDICT_WORDS).toEqual(['violation', 'unknown', 'tampered', 'not-persisted', 'active', 'resume-interrupted', 'not-armed', 'armed']);
    expect(VERDICT_EXIT_CODES).toEqual({
      violation: 4,
      unknown: 1,
      tampered: 6,
      'not-persisted': 7,
      active: 3,
      'resume-interrupted': 8,
      'not-armed': 5,
      armed: 0,
    });
  });

  it.each([
    ['a healthy idle host', inputs(), 'armed'],
    ['a latch that holds', inputs(LATCHED), 'active'],
    ['a running unit while latched', inputs(LATCHED, { 'a.service': { activeState: 'active' } }), 'violation'],
    ['processes left in a stopped unit while latched', inputs(LATCHED, { 'b.service': { populated: 'yes' } }), 'violation'],
    ['a violation although systemctl failed', inputs({ ...LATCHED, systemdOk: false }, { 'a.service': { activeState: 'active' } }), 'violation'],
    ['a failed systemctl', inputs({ systemdOk: false }), 'unknown'],
    ['an unreadable cgroup', inputs(LATCHED, { 'a.service': { populated: 'unknown' } }), 'unknown'],
    ["processes in a unit's user's slice while latched", inputs(LATCHED, { 'b.service': { userSlice: 'yes' } }), 'violation'],
    ["processes in a unit's user's slice while not latched", inputs({}, { 'b.service': { userSlice: 'yes' } }), 'armed'],
    ["an unreadable user's slice", inputs(LATCHED, { 'a.service': { userSlice: 'unknown' } }), 'unknown'],
    ['the flag removed by hand', inputs({ latchedFile: true }), 'tampered'],
    ['a latch not written to disk', inputs({ flag: true }), 'not-persisted'],
    ['a persist problem', inputs({ ...LATCHED, persistProblem: true }), 'not-persisted'],
    ['a resume left half done', inputs({ resumePending: true }), 'resume-interrupted'],
    ['a failed path unit', inputs({ switchStates: new Map([['quantum-ess-trip.path', 'active']]) }), 'not-armed'],
    ['an unguarded unit', inputs({}, { 'b.service': { asserts: 'a(sbbsi) 0' } }), 'not-armed'],
    ['a trading unit that does not exist (a typo)', inputs({}, { 'b.service': { loadState: 'not-found', asserts: '' } }), 'not-armed'],
    ['a trading unit whose file systemd cannot use', inputs({}, { 'b.service': { loadState: 'bad-setting' } }), 'not-armed'],
    ['a trading unit that could not be loaded', inputs({}, { 'b.service': { loadState: 'error' } }), 'not-armed'],
    ['a masked trading unit (systemd cannot start it)', inputs({}, { 'b.service': { loadState: 'masked', asserts: '' } }), 'armed'],
    ['a unit that does not exist, latched', inputs(LATCHED, { 'b.service': { loadState: 'not-found', asserts: '' } }), 'active'],
  ] as const)('%s: %s', (_what, given, verdict) => {
    const result = computeVerdict(given, PATHS);
    expect(result.verdict).toBe(verdict);
    expect(result.exitCode).toBe(VERDICT_EXIT_CODES[verdict]);
  });

  it('disarms on a trigger service left active without the flag, not while the flag is set', () => {
    const stuck = new Map([...inputs().switchStates, ['quantum-ess-trigger.service', 'active']]);
    expect(computeVerdict(inputs({ switchStates: stuck }), PATHS)).toMatchObject({ verdict: 'not-armed', armed: false });
    expect(computeVerdict(inputs({ ...LATCHED, switchStates: stuck }), PATHS)).toMatchObject({ verdict: 'active', armed: true });
  });

  it('counts each violating unit once and reports the facts per unit', () => {
    const result = computeVerdict(
      inputs(LATCHED, { 'a.service': { activeState: 'active', populated: 'yes', asserts: 'a(sbbsi) 0' }, 'b.service': { loadState: 'not-found', asserts: '' } }),
      PATHS,
    );
    expect(result).toMatchObject({ verdict: 'violation', latched: true, armed: false, violations: 1 });
    expect(result.units.get('a.service')).toEqual({ guard: 'no', notLoaded: false, running: true, populated: 'yes', userSlice: 'no', exempt: false });
    expect(result.units.get('b.service')).toEqual({ guard: 'absent', notLoaded: true, running: false, populated: 'no', userSlice: 'no', exempt: false });
  });

  it('never counts violations while not latched', () => {
    expect(computeVerdict(inputs({}, { 'a.service': { activeState: 'active', populated: 'yes' } }), PATHS)).toMatchObject({ violations: 0, latched: false });
  });

  describe('maintenance exemptions', () => {
    // What an exempt unit looks like while it runs: its exemption drop-in resets the latch assertions.
    const exemptRunning = { activeState: 'active', populated: 'yes', asserts: 'a(sbbsi) 0', exempt: true } as const;

    it('leaves an exempt unit out of violations and unguarded, and reports it per unit', () => {
      const result = computeVerdict(inputs(LATCHED, { 'a.service': exemptRunning }), PATHS);
      expect(result).toMatchObject({ verdict: 'active', armed: true, violations: 0 });
      expect(result.units.get('a.service')).toEqual({ guard: 'no', notLoaded: false, running: true, populated: 'yes', userSlice: 'no', exempt: true });
      expect(computeVerdict(inputs(LATCHED, { 'a.service': { ...exemptRunning, exempt: false } }), PATHS)).toMatchObject({
        verdict: 'violation',
        armed: false,
        violations: 1,
      });
    });

    it('counts the units that are not exempt as before', () => {
      const result = computeVerdict(inputs(LATCHED, { 'a.service': exemptRunning, 'b.service': { activeState: 'active' } }), PATHS);
      expect(result).toMatchObject({ verdict: 'violation', armed: true, violations: 1 });
    });

    it('keeps an exempt unit in the unknown check, and hides neither tamper nor a missing persisted latch', () => {
      expect(computeVerdict(inputs(LATCHED, { 'a.service': { ...exemptRunning, asserts: '' } }), PATHS).verdict).toBe('unknown');
      expect(computeVerdict(inputs(LATCHED, { 'a.service': { ...exemptRunning, populated: 'unknown' } }), PATHS).verdict).toBe('unknown');
      expect(computeVerdict(inputs({ latchedFile: true }, { 'a.service': exemptRunning }), PATHS).verdict).toBe('tampered');
      expect(computeVerdict(inputs({ flag: true }, { 'a.service': exemptRunning }), PATHS).verdict).toBe('not-persisted');
    });

    it('follows the formula while not latched too: an exempt unguarded unit does not disarm', () => {
      expect(computeVerdict(inputs({}, { 'a.service': exemptRunning }), PATHS)).toMatchObject({ verdict: 'armed', armed: true });
    });
  });
});
