// The on-trip actions' result files (contract/README.md section 9) as the controller writes them
// (deploy/lib/actions.sh actions_record, run here through bash) and as the exporter reads and
// renders them (src/readers/action-results.ts, src/collectors/action-results-metrics.ts), and
// state.json's last_activation.actions, copied from them (src/readers/state-file.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerActionResultsMetrics } from '../../src/collectors/action-results-metrics.js';
import { ActionResultsReader, parseActionResult } from '../../src/readers/action-results.js';
import { parseStateJson } from '../../src/readers/state-file.js';

const run = promisify(execFile);
let dir: string;
const logged: string[] = [];
const log = (line: string): void => void logged.push(line);

/** actions_record NAME ID MODE RESULT DETAIL START_US END_US OUTPUT, in STATE_DIR=dir. */
async function record(...args: string[]): Promise<void> {
  const script = `set -Eeuo pipefail; source deploy/lib/load.sh; load_all
    CFG[STATE_DIR]=$1 CFG[AUDIT_FILE]=$1/audit.jsonl CFG[LOCK_FILE]=$1/ess.lock; shift
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
    expect(r.counts).toEqual({ verified: 1, unverified: 0, checked: 0, failed: 0, timeout: 1, refused: 0, aborted: 0 });
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[1] ?? '')).toMatchObject({ event: 'action', action: 'venue-a', result: 'timeout' });
  });

  it('exports the last result per action, its duration and the runs by result', async () => {
    await record('venue-a', 'id-1', 'real', 'verified', 'exited 0', '1000000', '1250000', '');
    await record('venue-b', 'id-1', 'real', 'refused', 'not run: group-writable', '1000000', '1000000', '');
    await record('venue-c', 'id-1', 'real', 'aborted', 'stopped by deactivate before trading resumed', '1000000', '1500000', '');
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
    expect(metrics).toContain('ess_action_last_result{action="venue-c",result="aborted"} 1');
    expect(metrics).toContain('ess_action_runs_total{action="venue-c",result="aborted"} 1');
    expect(metrics).not.toContain('action="broken"');
    expect(logged.join('\n')).toContain('broken.json');
  });

  it("state.json's last activation carries its actions' results as their files hold them, and only those", async () => {
    const env = [
      'ACTIVE=1', 'FLAG_ID=id-2', 'UPDATED_US=1000000', 'ACT_ID=id-2', 'ACT_SOURCE=cli', 'ACT_ACTOR=root', 'ACT_REASON=test', 'ACT_RESULT=ok',
      'ACT_TRIGGER_US=1000000', 'ACT_STOPPED_US=1100000', 'ACT_LATENCY_US=100000', 'ACT_UNITS=quantum-execution.service=stopped/inactive/50000', 'COUNT_cli=1',
    ].join('\n');
    await writeFile(join(dir, 'state.env'), `${env}\n`);
    // a result of an earlier activation: state.json is not written for it
    await record('venue-a', 'id-1', 'real', 'verified', 'exited 0', '1000000', '1250000', '');
    await expect(readFile(join(dir, 'state.json'), 'utf8')).rejects.toThrow(/ENOENT/);
    await record('venue-b', 'id-2', 'real', 'failed', 'exited 2', '1000000', '1500000', 'venue said 500');
    await record('venue-a', 'id-2', 'real', 'timeout', 'killed after ACTION_TIMEOUT_SEC=5s', '1000000', '6000000', 'cancel sent\n');
    const state = parseStateJson(await readFile(join(dir, 'state.json'), 'utf8'));
    const file = async (name: string): Promise<unknown> => JSON.parse(await readFile(join(dir, 'actions', `${name}.json`), 'utf8'));
    expect(state.lastActivation?.actions).toEqual([await file('venue-a'), await file('venue-b')]);
    expect(state.lastActivation?.actions.map((a) => [a.action, a.result, a.output])).toEqual([
      ['venue-a', 'timeout', ['cancel sent']],
      ['venue-b', 'failed', ['venue said 500']],
    ]);
    // the controller's memory, and so the latch it records, untouched
    expect(await readFile(join(dir, 'state.env'), 'utf8')).toBe(`${env}\n`);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toMatchObject({ active: true, flag_id: 'id-2', updated_at: 1 });
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
