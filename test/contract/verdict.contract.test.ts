import { parseAsserts } from '../../sandbox/busctl-asserts.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Populated } from '../../src/readers/cgroup.js';
import { type UnitProperties, WIRING_UNITS } from '../../src/readers/ess-units.js';
import { parseWiringRecord } from '../../src/readers/wiring-record.js';
import { computeVerdict, type VerdictInputs, VERDICT_WORDS } from '../../src/verdict/latch-verdict.js';
import { fixtureFiles, runBash, transcript } from './fixtures.js';

/** contract/README.md section 1: the fixtures use the default ess.conf. */
const PATHS = { flagFile: '/run/quantum/ESS_ON', stateDir: '/var/lib/quantum-ess', spoolDir: '/var/spool/quantum-ess' };
const FILES = fixtureFiles('verdict', '.json');
type Properties = Readonly<Record<string, string | null>>;
/** The default installation, for fixtures that leave the wiring out. */
const INSTALLED = JSON.parse(readFileSync(new URL('../../contract/fixtures/wiring/installed.json', import.meta.url), 'utf8')) as {
  readonly record: Readonly<Record<string, Properties>>;
  readonly found: Readonly<Record<string, Properties>>;
};

function propertiesOf(units: Readonly<Record<string, Properties>>): Map<string, UnitProperties> {
  return new Map(
    Object.entries(units).map(([unit, props]) => [
      unit,
      new Map(Object.entries(props).filter((entry): entry is [string, string] => entry[1] !== null)),
    ]),
  );
}

interface Fixture {
  readonly description: string;
  readonly inputs: {
    readonly flag: boolean;
    readonly latched_file: boolean;
    /** Content of /run/quantum-ess/persist-failed and resume-pending; empty when there is none. */
    readonly persist_problem: string;
    readonly resume_pending: string;
    /** Content of /run/quantum-ess/config-problem; optional, default empty. */
    readonly config_problem?: string;
    readonly systemd_ok: boolean;
    /**
     * `exempt`: a current maintenance exemption (contract section 5); optional, default false.
     * `user_slice`: the unit's user's slice holds processes; optional, default no.
     */
    readonly trading: Readonly<Record<string, { LoadState: string; ActiveState: string; populated: Populated; user_slice?: Populated; asserts: string; exempt?: boolean }>>;
    readonly switch: Readonly<Record<string, string>>;
    readonly flag_dir_redirected?: boolean;
    readonly wiring_record?: Readonly<Record<string, Properties>> | null;
    readonly wiring?: Readonly<Record<string, Properties>>;
  };
  readonly expect: {
    readonly verdict: string;
    readonly exit_code: number;
    readonly armed: boolean;
    readonly latch_violations: number;
    /** The wiring units that are not ok, with their word. */
    readonly wiring?: Readonly<Record<string, string>>;
  };
}

function inputsOf({ inputs }: Fixture): VerdictInputs {
  return {
    flag: inputs.flag,
    latchedFile: inputs.latched_file,
    persistProblem: inputs.persist_problem !== '',
    resumePending: inputs.resume_pending !== '',
    configProblem: (inputs.config_problem ?? '') !== '',
    systemdOk: inputs.systemd_ok,
    trading: new Map(
      Object.entries(inputs.trading).map(([unit, u]) => [
        unit,
        {
          loadState: u.LoadState,
          activeState: u.ActiveState,
          populated: u.populated,
          userSlice: u.user_slice ?? 'no',
          asserts: parseAsserts(u.asserts),
          exempt: u.exempt ?? false,
        },
      ]),
    ),
    switchStates: new Map(Object.entries(inputs.switch)),
    flagDirRedirected: inputs.flag_dir_redirected ?? false,
    wiringRecord: inputs.wiring_record === null ? null : propertiesOf(inputs.wiring_record ?? INSTALLED.record),
    wiring: propertiesOf({ ...INSTALLED.found, ...inputs.wiring }),
  };
}

/** The units that are not ok, as the bash driver prints them: UNIT=WORD in WIRING_UNITS order, or -. */
function notOk(wiring: ReadonlyMap<string, string>): string {
  const list = WIRING_UNITS.filter((unit) => wiring.get(unit) !== 'ok').map((unit) => `${unit}=${wiring.get(unit) ?? ''}`);
  return list.length === 0 ? '-' : list.join(',');
}

describe('the installer\'s wiring record', () => {
  it('contract/fixtures/wiring/wiring.installed parses to the record of installed.json (both sides)', async () => {
    const text = readFileSync(new URL('../../contract/fixtures/wiring/wiring.installed', import.meta.url), 'utf8');
    expect(parseWiringRecord(text)).toEqual(propertiesOf(INSTALLED.record));
    const result = await runBash('test/contract/wiring-record-driver.sh', ['contract/fixtures/wiring/wiring.installed']);
    expect(result.exitCode, transcript(result)).toBe(0);
    const lines = [...propertiesOf(INSTALLED.record)].flatMap(([unit, props]) => [...props].map(([key, value]) => `${unit}|${key}=${value}`));
    expect(result.stdout.trim().split('\n').sort()).toEqual(lines.sort());
  });
});

describe('verdict contract fixtures', () => {
  const fixtures = FILES.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Fixture);

  it('has at least 25 fixtures covering every verdict word', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(fixtures.map((f) => f.expect.verdict))).toEqual(new Set(VERDICT_WORDS));
  });

  describe.each(FILES.map((file, index) => [basename(file), file, fixtures[index] as Fixture] as const))('%s', (_name, file, fixture) => {
    const { verdict, exit_code, armed, latch_violations } = fixture.expect;
    const listed = fixture.expect.wiring ?? {};
    const wiring = notOk(new Map(WIRING_UNITS.map((unit) => [unit, listed[unit] ?? 'ok'] as const)));
    const expected = `${verdict} ${exit_code} ${String(armed)} ${latch_violations} ${wiring}`;

    it('the exporter (src/verdict/latch-verdict.ts) computes the expected verdict', () => {
      const result = computeVerdict(inputsOf(fixture), PATHS);
      const got = `${result.verdict} ${result.exitCode} ${String(result.armed)} ${result.violations} ${notOk(result.wiring)}`;
      expect(got, fixture.description).toBe(expected);
    });

    it('deploy/lib/verdict.sh (through test/contract/verdict-driver.sh) computes the same', async () => {
      const result = await runBash('test/contract/verdict-driver.sh', [file]);
      expect(result.exitCode, transcript(result)).toBe(0);
      expect(result.stdout.trim(), `${fixture.description}\n${transcript(result)}`).toBe(expected);
    });
  });
});
