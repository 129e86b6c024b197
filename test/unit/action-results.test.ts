// The on-trip actions' result files (contract/README.md section 9) as the controller writes them
// (deploy/lib/actions.sh actions_record, run here through bash) and as the exporter reads and
// renders them (src/readers/action-results.ts, src/collectors/action-results-metrics.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerActionResultsMetrics } from '../../src/collectors/action-results-metrics.js';
import { ActionResultsReader, parseActionResult } from '../../src/readers/action-results.js';

const run = promisify(execFile);
let dir: string;
const logged: string[] = [];
const log = (line: string): void => void logged.push(line);

/** actions_record NAME ID MODE RESULT DETAIL START_US END_US OUTPUT, in STATE_DIR=dir. */
async function record(...args: string[]): Promise<void> {
  const script = `set -Eeuo pipefail; source deploy/lib/load.sh; load_all
    CFG[STATE_DIR]=$1 CFG[AUDIT_FILE]=$1/audit.jsonl; shift
    actions_record "$@"`;
  await run('bash', ['-c', script, 'driver', dir, ...args], { env: { ...process.env, LC_ALL: 'C', PATH: process.env.PATH } });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ess-actions-'));
  logged.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('on-trip action results', () => {
  it('the controller writes what the exporter reads, counts carried over, output bounded and escaped', async () => {
    const noisy = `${'x'.repeat(9000)}\nline two \u0007\u001b[31m\n${Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n')}\n`;
    await record('venue-a', 'id-1', 'real', 'verified', 'exited 0', '1000000', '3500000', 'ok');
    await record('venue-a', 'id-2', 'real', 'timeout', 'killed after ACTION_TIMEOUT_SEC=3s', '5000000', '8000000', noisy);
    const text = await readFile(join(dir, 'actions', 'venue-a.json'), 'utf8');
    // eslint-disable-next-line no-control-regex
    expect(text.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
    const r = parseActionResult(text);
    expect(r).toMatchObject({ action: 'venue-a', activation: 'id-2', mode: 'real', result: 'timeout', duration_seconds: 3 });
    expect(r.output).toHaveLength(10);
    expect(r.output.at(-1)).toBe('l29');
    expect(r.counts).toEqual({ verified: 1, unverified: 0, checked: 0, failed: 0, timeout: 1, refused: 0 });
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[1] ?? '')).toMatchObject({ event: 'action', action: 'venue-a', result: 'timeout' });
  });

  it('exports the last result per action, its duration and the runs by result', async () => {
    await record('venue-a', 'id-1', 'real', 'verified', 'exited 0', '1000000', '1250000', '');
    await record('venue-b', 'id-1', 'real', 'refused', 'not run: group-writable', '1000000', '1000000', '');
    await writeFile(join(dir, 'actions', 'broken.json'), '{"schema":1}');
    const reader = new ActionResultsReader(dir, log);
    await reader.read();
    const registry = new Registry();
    registerActionResultsMetrics(registry, () => reader.current());
    const metrics = await registry.metrics();
    expect(metrics).toContain('ess_action_last_result{action="venue-a",result="verified"} 1');
    expect(metrics).toContain('ess_action_last_result{action="venue-a",result="failed"} 0');
    expect(metrics).toContain('ess_action_last_result{action="venue-b",result="refused"} 1');
    expect(metrics).toContain('ess_action_duration_seconds{action="venue-a"} 0.25');
    expect(metrics).toContain('ess_action_runs_total{action="venue-b",result="refused"} 1');
    expect(metrics).not.toContain('action="broken"');
    expect(logged.join('\n')).toContain('broken.json');
  });

  it('no directory: no series, nothing logged', async () => {
    const reader = new ActionResultsReader(join(dir, 'none'), log);
    await reader.read();
    const registry = new Registry();
    registerActionResultsMetrics(registry, () => reader.current());
    expect(await registry.metrics()).not.toMatch(/^ess_action_last_result\{/m);
    expect(logged).toEqual([]);
  });
});
