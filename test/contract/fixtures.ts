import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The fixture files of one contract area, sorted, as absolute paths. */
export function fixtureFiles(area: 'ess-conf' | 'verdict', extension: string): string[] {
  const dir = `${REPO}contract/fixtures/${area}/`;
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => `${dir}${name}`);
}

export interface BashResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bash script of the root side from the repository root, in the C locale, never rejecting. */
export async function runBash(script: string, args: readonly string[]): Promise<BashResult> {
  const result = await execa('bash', [script, ...args], {
    cwd: REPO,
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
    // ESS_CONFIG from the caller's shell must not replace the fixture.
    env: { LC_ALL: 'C', ESS_CONFIG: undefined },
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** For a failing assertion: everything the script said. */
export function transcript({ exitCode, stdout, stderr }: BashResult): string {
  return `exit ${String(exitCode)}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
}
