import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { essConfLines, parseEssConf } from '../../src/config/ess-conf.js';
import { fixtureFiles, runBash, transcript } from './fixtures.js';

/** `key` is the key named, or `line N`; the fixtures' `# expect:` line says only `line`. */
type Outcome = { readonly valid: true; readonly lines: readonly string[] } | { readonly valid: false; readonly key: string };

const EX_CONFIG = 78;
const FILES = fixtureFiles('ess-conf', '.conf');

function expectation(text: string, file: string): { valid: true } | { valid: false; key: string } {
  const match = /^# expect: (valid|invalid (line|[A-Z_][A-Z0-9_]*))\n/.exec(text);
  if (!match) throw new Error(`${file}: the first line must be "# expect: valid" or "# expect: invalid KEY|line"`);
  return match[2] === undefined ? { valid: true } : { valid: false, key: match[2] };
}

/** `line 7` matches the expectation `line`; a key matches itself. */
function keyMatches(named: string, expected: string): boolean {
  return expected === 'line' ? /^line [0-9]+$/.test(named) : named === expected;
}

function exporterOutcome(text: string, file: string): Outcome {
  try {
    return { valid: true, lines: essConfLines(parseEssConf(text, file)) };
  } catch (error) {
    if (error instanceof ConfigError) return { valid: false, key: error.key };
    throw error;
  }
}

async function controllerOutcome(file: string): Promise<Outcome> {
  const result = await runBash('deploy/ess_controller.sh', ['check-config', file]);
  if (result.exitCode === 0) return { valid: true, lines: result.stdout.split('\n').filter((line) => line !== '') };
  const prefix = `ess: config error in ${file}: `;
  const line = result.stderr.split('\n').find((l) => l.startsWith(prefix));
  const key = line === undefined ? undefined : /^(line [0-9]+|[A-Z_][A-Z0-9_]*): /.exec(line.slice(prefix.length))?.[1];
  if (result.exitCode !== EX_CONFIG || key === undefined) {
    throw new Error(`check-config must exit 0, or ${EX_CONFIG} with "${prefix}KEY: ..." on stderr; got:\n${transcript(result)}`);
  }
  return { valid: false, key };
}

describe('ess.conf contract fixtures', () => {
  it('has at least 40 fixtures, valid and invalid', () => {
    const expected = FILES.map((file) => expectation(readFileSync(file, 'utf8'), file));
    expect(FILES.length).toBeGreaterThanOrEqual(40);
    expect(expected.filter((e) => e.valid).length).toBeGreaterThanOrEqual(10);
    expect(expected.filter((e) => !e.valid).length).toBeGreaterThanOrEqual(30);
  });

  describe.each(FILES.map((file) => [basename(file), file] as const))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const expected = expectation(text, file);

    it('the exporter (src/config/ess-conf.ts) gives the expected verdict', () => {
      const outcome = exporterOutcome(text, file);
      if (expected.valid) {
        expect(outcome).toMatchObject({ valid: true });
      } else {
        expect(outcome.valid, 'refused').toBe(false);
        if (!outcome.valid) expect(keyMatches(outcome.key, expected.key), `named ${outcome.key}, expected ${expected.key}`).toBe(true);
      }
    });

    it('ess_controller.sh check-config gives the same verdict and, if valid, the same normalised values', async () => {
      const exporter = exporterOutcome(text, file);
      const controller = await controllerOutcome(file);
      expect(controller).toEqual(exporter);
    });
  });
});
