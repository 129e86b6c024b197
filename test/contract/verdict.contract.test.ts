import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeVerdict, type Populated, type VerdictInputs, VERDICT_WORDS } from '../../src/verdict/latch-verdict.js';
import { fixtureFiles, runBash, transcript } from './fixtures.js';

/** contract/README.md section 1: the fixtures use the default ess.conf. */
const PATHS = { flagFile: '/run/quantum/ESS_ON', stateDir: '/var/lib/quantum-ess' };
const FILES = fixtureFiles('verdict', '.json');

interface Fixture {
  readonly description: string;
  readonly inputs: {
    readonly flag: boolean;
    readonly latched_file: boolean;
    /** Content of /run/quantum-ess/persist-failed and resume-pending; empty when there is none. */
    readonly persist_problem: string;
    readonly resume_pending: string;
    readonly systemd_ok: boolean;
    /** `exempt`: a current maintenance exemption (contract section 5); optional, default false. */
    readonly trading: Readonly<Record<string, { LoadState: string; ActiveState: string; populated: Populated; asserts: string; exempt?: boolean }>>;
    readonly switch: Readonly<Record<string, string>>;
  };
  readonly expect: { readonly verdict: string; readonly exit_code: number; readonly armed: boolean; readonly latch_violations: number };
}

function inputsOf({ inputs }: Fixture): VerdictInputs {
  return {
    flag: inputs.flag,
    latchedFile: inputs.latched_file,
    persistProblem: inputs.persist_problem !== '',
    resumePending: inputs.resume_pending !== '',
    systemdOk: inputs.systemd_ok,
    trading: new Map(
      Object.entries(inputs.trading).map(([unit, u]) => [
        unit,
        { loadState: u.LoadState, activeState: u.ActiveState, populated: u.populated, asserts: u.asserts, exempt: u.exempt ?? false },
      ]),
    ),
    switchStates: new Map(Object.entries(inputs.switch)),
  };
}

describe('verdict contract fixtures', () => {
  const fixtures = FILES.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Fixture);

  it('has at least 25 fixtures covering every verdict word', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(fixtures.map((f) => f.expect.verdict))).toEqual(new Set(VERDICT_WORDS));
  });

  describe.each(FILES.map((file, index) => [basename(file), file, fixtures[index] as Fixture] as const))('%s', (_name, file, fixture) => {
    const { verdict, exit_code, armed, latch_violations } = fixture.expect;
    const expected = `${verdict} ${exit_code} ${String(armed)} ${latch_violations}`;

    it('the exporter (src/verdict/latch-verdict.ts) computes the expected verdict', () => {
      const result = computeVerdict(inputsOf(fixture), PATHS);
      expect(`${result.verdict} ${result.exitCode} ${String(result.armed)} ${result.violations}`, fixture.description).toBe(expected);
    });

    it('deploy/lib/verdict.sh (through test/contract/verdict-driver.sh) computes the same', async () => {
      const result = await runBash('test/contract/verdict-driver.sh', [file]);
      expect(result.exitCode, transcript(result)).toBe(0);
      expect(result.stdout.trim(), `${fixture.description}\n${transcript(result)}`).toBe(expected);
    });
  });
});
