// Trip requests whose scope lines are hostile, dropped into the spool by the exporter's own user on
// REAL systemd: whatever a request says about its scope, it stops every trading unit, and the
// records (state.json, the audit trail, the journal) stay well-formed. The scope is recorded, never
// obeyed, on the root side (contract/README.md section 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MONITOR, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const SPOOL = '/var/spool/quantum-ess';
const AS_EXPORTER = ['setpriv', '--reuid=quantum-ess', '--regid=quantum-ess', '--init-groups'];
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-spool-scopes');
});
afterAll(async () => {
  await box?.shutdown();
});

/**
 * printf formats (octal escapes allowed), each the content of one request. Written into tmp/ and
 * renamed into incoming/ together, as one batch.
 */
const LONG = 'g'.repeat(63);
const HOSTILE: readonly string[] = [
  'source=alertmanager\\nscope=host:h1\\rsource=evil\\nreason=carriage return in the scope\\n',
  'source=alertmanager\\nscope=fleet\\000host:h9\\nreason=NUL in the scope\\n',
  'source=alertmanager\\nscope=group:\\303\\251xec\\nreason=UTF-8 letter in the scope\\n',
  'source=alertmanager\\nscope=group:\\377\\376\\nreason=bytes that are no UTF-8\\n',
  'source=alertmanager\\nscope=\\nreason=empty scope\\n',
  'source=alertmanager\\nscope=host:$(touch /tmp/pwned)`touch /tmp/pwned`\\nreason=shell\\n',
  'source=alertmanager\\nscope=host:x","scope":"fleet\\nreason=JSON\\n',
  `source=alertmanager\\nscope=host:${'h'.repeat(5000)}\\nreason=a scope line past 4 KiB\\n`,
  'scope=fleet\\nscope=host:h2\\nscope=group:a b\\nreason=three scope lines\\n',
  'reason=no scope line at all\\n',
  // more distinct valid scopes than the record keeps (8), each as long as a name can be
  ...Array.from({ length: 10 }, (_, i) => `source=alertmanager\\nscope=group:${i}${LONG.slice(1)}\\nreason=long ${i}\\n`),
];

describe('hostile trip request scopes on real systemd', () => {
  it('stop every trading unit and keep state.json, the audit trail and the journal well-formed', async () => {
    const drop = HOSTILE.map(
      (format, i) => `printf '${format}' > ${SPOOL}/tmp/r${String(i).padStart(2, '0')}`,
    ).join(' && ');
    // tmp/ is write+search only for the group: the names are spelt out, not globbed
    const names = HOSTILE.map((_, i) => `${SPOOL}/tmp/r${String(i).padStart(2, '0')}`).join(' ');
    const written = await box.run(...AS_EXPORTER, 'sh', '-c', `umask 027 && ${drop} && mv ${names} ${SPOOL}/incoming/`);
    expect(written.exitCode, written.stderr).toBe(0);

    const trading = await box.waitFor(TRADING, ['inactive', 'failed'], 10_000);
    for (const unit of TRADING) expect(['inactive', 'failed'], `${unit} is ${trading[unit]}`).toContain(trading[unit]);
    const monitors = await box.activeStates(MONITOR);
    for (const unit of MONITOR) expect(monitors[unit], `monitor ${unit}`).toBe('active');

    // one batch, or two if the path unit fired between two renames: the requests are what counts
    type Batch = { count: number; scope: string; requests: { scope: string }[] };
    let batches: Batch[] = [];
    for (let i = 0; i < 100; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      const audit = await box.readFile('/var/log/quantum-ess/audit.jsonl').catch(() => '');
      const events = audit.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      batches = events.filter((e) => e.event === 'trip-requests') as unknown as Batch[];
      if (batches.reduce((sum, b) => sum + b.count, 0) >= HOSTILE.length) break;
    }
    expect(batches.reduce((sum, b) => sum + b.count, 0)).toBe(HOSTILE.length);
    const requests = batches.flatMap((b) => b.requests);
    const SCOPE = /^(fleet|unknown|invalid|(host|group):[A-Za-z0-9][A-Za-z0-9._-]{0,62})$/;
    for (const { scope } of requests) expect(scope).toMatch(SCOPE);
    expect(requests.slice(0, 10).map(({ scope }) => scope)).toEqual([
      'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'unknown', 'invalid', 'unknown',
    ]);
    for (const { scope } of batches) expect(scope).toMatch(/^[A-Za-z0-9:._,-]{1,600}$/);
    if (batches.length === 1) {
      expect(batches[0]?.scope).toMatch(/^invalid,unknown,group:0g{62},group:1g{62},group:2g{62},group:3g{62},group:4g{62},group:5g{62},\.\.\.$/);
    }
    const batch = batches[0] as Batch;

    const state = await box.stateJson();
    expect(state.active).toBe(true);
    expect(state.last_activation?.scope).toBe(batch.scope);
    expect(state.last_activation?.result).toBe('ok');
    expect((await box.run('test', '-e', '/tmp/pwned')).exitCode).not.toBe(0);
    expect((await box.run('ls', '-A', `${SPOOL}/incoming`)).stdout.trim()).toBe('');

    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '--no-pager', '-o', 'cat');
    expect(journal).toContain(`ACTIVATING id=`);
    expect(journal).not.toMatch(/^source=evil/m);
    expect(journal).toMatch(/trip request r00: source=alertmanager scope=invalid reason=carriage return in the scope/);
  });
});
