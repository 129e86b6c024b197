// On-trip actions on real systemd, against a stand-in venue (sandbox/venue.mjs: open orders per
// account, cancel-all, list-open-orders, faults on demand): after a trip by every method the venue's
// open orders are 0 and the record says verified; a hanging venue times out at ACTION_TIMEOUT_SEC and
// the latch holds; a 500 is recorded failed; a child an action forks is gone; a file that is
// group-writable or another user's is refused, never run; megabytes and control characters of output
// are bounded and escaped, the audit chain intact; a re-trip runs them per ACTIONS_ON_RETRIP;
// deactivate never runs them and stops the ones still running before trading resumes; an action
// cannot touch the ESS's state (the flag, the persisted latch, STATE_DIR); a credential others can
// read is refused; overlapping runs keep their own output; no URL reaches curl's command line. Each
// result is also in state.json's last_activation.actions and status --json, copied from the result
// file; a timed-out action keeps its last lines; the full drill FAILs naming an action that fails
// during its trips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, Sandbox } from '../../sandbox/sandbox.js';

const DIR = '/etc/quantum/ess-actions.d';
const RESULTS = '/var/lib/quantum-ess/actions';
const VENUE = 'http://127.0.0.1:18080';
const TOKEN = 'venue-secret-1';
const TIMEOUT_SEC = 5;

interface ActionResult {
  schema: number;
  action: string;
  activation: string;
  mode: string;
  result: string;
  detail: string;
  duration_seconds: number;
  output: string[];
  counts: Record<string, number>;
}

let box: Sandbox;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function conf(key: string, value: string): Promise<void> {
  await box.mustRun('sed', '-i', `/^${key}=/d`, '/etc/quantum/ess.conf');
  await box.sh(`echo '${key}=${value}' >> /etc/quantum/ess.conf`);
}

/** An action file: root's, 0755, unless told otherwise. */
async function action(name: string, script: string, mode = '0755'): Promise<void> {
  await box.sh(`printf '%s' '${script.replace(/'/g, `'\\''`)}' > ${DIR}/${name}; chmod ${mode} ${DIR}/${name}`);
}

async function venue(path: string, method = 'POST'): Promise<string> {
  return box.mustRun('curl', '-fsS', '-X', method, `${VENUE}${path}`);
}

async function openOrders(account: string): Promise<unknown[]> {
  return JSON.parse(await box.mustRun('curl', '-fsS', '-H', `Authorization: Bearer ${TOKEN}`, `${VENUE}/orders?account=${account}`)) as unknown[];
}

async function result(name: string): Promise<ActionResult | undefined> {
  const r = await box.run('cat', `${RESULTS}/${name}.json`);
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as ActionResult) : undefined;
}

/** The action's result for this activation, once recorded. */
async function resultFor(name: string, activation: string, timeoutMs = 20_000): Promise<ActionResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await result(name);
    if (r?.activation === activation) return r;
    if (Date.now() > deadline) throw new Error(`no result of ${name} for ${activation}: ${JSON.stringify(r)}`);
    await sleep(200);
  }
}

/** The id of the activation recorded last, once it differs from `before`. */
async function activationAfter(before: string | undefined): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const r = await box.run('cat', '/var/lib/quantum-ess/state.json');
    if (r.exitCode === 0) {
      const id = (JSON.parse(r.stdout) as { last_activation: { id: string } | null }).last_activation?.id;
      if (id !== undefined && id !== before) return id;
    }
    await sleep(100);
  }
  throw new Error('no new activation recorded');
}

async function lastActivation(): Promise<string | undefined> {
  const r = await box.run('cat', '/var/lib/quantum-ess/state.json');
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { last_activation: { id: string } | null }).last_activation?.id : undefined;
}

interface StateWithActions {
  last_activation: { id: string; actions?: ActionResult[] } | null;
}

/** state.json's and status --json's record of the action's run for this activation, once both carry it. */
async function recordedInState(name: string, activation: string): Promise<{ state: ActionResult; status: ActionResult }> {
  for (let i = 0; i < 100; i++) {
    const state = JSON.parse(await box.readFile('/var/lib/quantum-ess/state.json')) as StateWithActions;
    const status = JSON.parse((await box.ess('status', '--json')).stdout) as { state: StateWithActions };
    const pick = (s: StateWithActions): ActionResult | undefined =>
      s.last_activation?.id === activation ? s.last_activation.actions?.find((a) => a.action === name) : undefined;
    const [inState, inStatus] = [pick(state), pick(status.state)];
    if (inState && inStatus) return { state: inState, status: inStatus };
    await sleep(200);
  }
  throw new Error(`state.json or status --json never carried ${name}'s result for ${activation}`);
}

function webhookBody(fingerprint: string): string {
  return JSON.stringify({
    version: '4', groupKey: '{}:{alertname="VenueTrip"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
    groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
    alerts: [{ status: 'firing', labels: { alertname: 'VenueTrip', ess_trip: 'true' }, annotations: {},
      startsAt: '2026-12-06T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint }],
  });
}

/** Waits (up to 10 s) for a journal line under the ESS tag containing `text`: it lands just after the result file. */
async function journalHas(text: string, priority = 'debug'): Promise<string> {
  let journal = '';
  for (let i = 0; i < 50; i++) {
    journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-p', priority, '--no-pager', '-o', 'cat');
    if (journal.includes(text)) break;
    await sleep(200);
  }
  return journal;
}

async function trip(method: string): Promise<string> {
  const before = await lastActivation();
  if (method === 'command') await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'venue test');
  else if (method === 'systemctl') await box.mustRun('systemctl', 'start', 'quantum-ess.service');
  else if (method === 'touch') await box.mustRun('touch', FLAG);
  else {
    const posted = await box.sh(
      `curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" ` +
        `-H 'Content-Type: application/json' --data-binary '${webhookBody(`f${Date.now()}`)}' http://127.0.0.1:10170/alertmanager`,
    );
    expect(posted.stdout).toBe('200');
  }
  return activationAfter(before);
}

beforeAll(async () => {
  box = await Sandbox.boot('ess-actions');
  await box.requireExporter();
  await box.mustRun('systemd-run', '--unit=venue', '--quiet', 'node', '/opt/quantum-ess-src/sandbox/venue.mjs', '18080', TOKEN);
  await box.sh(`for i in $(seq 100); do curl -fs ${VENUE}/admin/stats && exit 0; sleep 0.05; done; exit 1`);
  await conf('ACTION_TIMEOUT_SEC', String(TIMEOUT_SEC));
  await box.reinstall();
  // the shipped action, enabled as the operator guide says: a copy, its settings, its credential
  await box.mustRun('install', '-m', '0755', '/usr/local/lib/quantum-ess/actions/http-cancel-all', `${DIR}/venue-a`);
  await box.sh(`umask 077; printf '%s\\n' '${TOKEN}' > ${DIR}/venue-a.cred`);
  await box.sh(
    `printf '%s\\n' 'ESS_HTTP_CANCEL_URL=${VENUE}/orders?account=a' 'ESS_HTTP_VERIFY_URL=${VENUE}/orders?account=a' ` +
      `'ESS_HTTP_TIMEOUT_SEC=10' 'ESS_HTTP_VERIFY_TRIES=2' > ${DIR}/venue-a.env`,
  );
}, 180_000);
afterAll(async () => {
  await box?.shutdown();
});

describe('on-trip actions', () => {
  it('is installed disabled: the shipped action under the library, the directory empty', async () => {
    expect(await box.exists('/usr/local/lib/quantum-ess/actions/http-cancel-all')).toBe(true);
    expect((await box.sh(`stat -c '%U %a' ${DIR}`)).stdout.trim()).toBe('root 755');
  });

  for (const method of ['command', 'systemctl', 'touch', 'webhook']) {
    it(`after a trip by ${method}: the venue's open orders are 0 and the record says verified`, async () => {
      await box.reset();
      await venue('/admin/seed?account=a&n=5');
      expect(await openOrders('a')).toHaveLength(5);
      const id = await trip(method);
      const r = await resultFor('venue-a', id);
      expect(r.result, JSON.stringify(r)).toBe('verified');
      expect(r.mode).toBe('real');
      expect(await openOrders('a')).toHaveLength(0);
      expect(r.output.join('\n')).toContain('cancelled and verified');
      // the credential never shows in the record
      expect(JSON.stringify(r)).not.toContain(TOKEN);
      expect((await box.ess('status')).exitCode).toBe(3);
      const verified = `on-trip action venue-a (real) for activation ${id}: done and verified`;
      expect(await journalHas(verified)).toContain(verified);
      expect((await box.ess('status')).stdout).toContain(`action:   venue-a VERIFIED (real, activation ${id})`);
      const scraped = await box.scrape();
      expect(scraped).toContain('ess_action_last_result{action="venue-a",result="verified"} 1');
      expect(scraped).toMatch(/^ess_action_duration_seconds\{action="venue-a"\} [0-9.]+$/m);
      // state.json and status --json carry the same record, and the latch is as it was
      const { state, status } = await recordedInState('venue-a', id);
      expect(state).toEqual(r);
      expect(status).toEqual(r);
      const json = JSON.parse((await box.ess('status', '--json')).stdout) as { verdict: string; state: { active: boolean } };
      expect(json.verdict).toBe('active');
      expect(json.state.active).toBe(true);
    });
  }

  it('a hanging venue: the action is killed at ACTION_TIMEOUT_SEC, recorded timeout with its last lines, trading stays latched', async () => {
    await box.reset();
    await venue('/admin/fault?cancel=hang');
    await venue('/admin/seed?account=a&n=2');
    // one that says where it is before it hangs, ignoring SIGTERM, with a bell to escape
    await action('stuck', '#!/bin/bash\ntrap "" TERM\necho "cancel sent to venue b"\nprintf "waiting\\a for the answer\\n"\nsleep 600\n');
    try {
      const id = await trip('command');
      // while the cancel hangs: curl runs, and nothing of the URL is on its command line (ps)
      const seen = await box.sh('for i in $(seq 100); do pgrep -a -x curl && exit 0; sleep 0.05; done; exit 1');
      expect(seen.exitCode, 'curl seen running').toBe(0);
      expect(seen.stdout).toMatch(/curl/);
      expect(seen.stdout).not.toContain('/orders');
      expect(seen.stdout).not.toContain(TOKEN);
      const r = await resultFor('venue-a', id);
      expect(r.result).toBe('timeout');
      expect(r.duration_seconds).toBeGreaterThanOrEqual(TIMEOUT_SEC);
      expect(r.duration_seconds).toBeLessThan(TIMEOUT_SEC + 3);
      const stuck = await resultFor('stuck', id);
      expect(stuck.result).toBe('timeout');
      expect(stuck.output).toEqual(['cancel sent to venue b', 'waiting\u0007 for the answer']);
      expect(await box.readFile(`${RESULTS}/stuck.json`)).toContain('"waiting\\u0007 for the answer"');
      expect((await recordedInState('stuck', id)).state).toEqual(stuck);
      expect((await box.run('pgrep', '-f', 'sleep 600')).exitCode).toBe(1);
      const status = await box.ess('status');
      expect(status.exitCode).toBe(3);
      expect(status.stdout).toContain(`ACTION!   venue-a TIMEOUT (real, activation ${id})`);
      expect(await box.exists(FLAG)).toBe(true);
      expect(await box.scrape()).toContain('ess_action_last_result{action="venue-a",result="timeout"} 1');
      const left = await box.sh("systemctl list-units --no-legend --state=active 'quantum-ess-action-*' | wc -l");
      expect(left.stdout.trim()).toBe('0');
    } finally {
      await venue('/admin/fault?cancel=ok');
      await box.mustRun('rm', '-f', `${DIR}/stuck`);
    }
  });

  it('a venue that answers 500: failed, recorded, orders still open', async () => {
    await box.reset();
    await venue('/admin/fault?cancel=500');
    try {
      const id = await trip('command');
      const r = await resultFor('venue-a', id);
      expect(r.result).toBe('failed');
      expect(r.detail).toBe('exited 2');
      expect(r.output.join('\n')).toContain('-> 500');
      const failed = `on-trip action venue-a (real) for activation ${id}: FAILED (exited 2)`;
      expect(await journalHas(failed)).toContain(failed);
    } finally {
      await venue('/admin/fault?cancel=ok');
    }
  });

  it('a cancel the venue ignores: orders still open, failed (4); without a verify URL: done, not verified (3)', async () => {
    await box.reset();
    await venue('/admin/fault?cancel=ignore');
    await venue('/admin/seed?account=a&n=1');
    try {
      const id = await trip('command');
      expect((await resultFor('venue-a', id)).detail).toBe('exited 4');
    } finally {
      await venue('/admin/fault?cancel=ok');
    }
    await box.reset();
    await box.mustRun('sed', '-i', '/ESS_HTTP_VERIFY_URL/d', `${DIR}/venue-a.env`);
    try {
      const id = await trip('command');
      expect((await resultFor('venue-a', id)).result).toBe('unverified');
    } finally {
      await box.sh(`echo 'ESS_HTTP_VERIFY_URL=${VENUE}/orders?account=a' >> ${DIR}/venue-a.env`);
    }
  });

  it('an action that forks a child and exits: the child is gone', async () => {
    await box.reset();
    await action('forker', '#!/bin/bash\nsetsid sleep 7777 </dev/null & disown\necho forked\nexit 0\n');
    try {
      const id = await trip('command');
      expect((await resultFor('forker', id)).result).toBe('verified');
      await sleep(500);
      expect((await box.run('pgrep', '-f', 'sleep 7777')).exitCode).toBe(1);
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/forker`);
    }
  });

  it('a group-writable file or one owned by another user is refused, never run, logged and counted', async () => {
    await box.reset();
    const script = '#!/bin/bash\ntouch /run/ran-$ESS_ACTION_NAME\n';
    await action('shared', script, '0775');
    await box.mustRun('chgrp', '1', `${DIR}/shared`);
    await action('foreign', script);
    await box.mustRun('chown', '65534', `${DIR}/foreign`);
    try {
      const id = await trip('command');
      const shared = await resultFor('shared', id);
      const foreign = await resultFor('foreign', id);
      expect(shared.result).toBe('refused');
      expect(shared.detail).toContain('is writable by group 1');
      expect(foreign.result).toBe('refused');
      expect(foreign.detail).toContain('is owned by uid 65534, not root');
      expect(shared.counts.refused).toBe(1);
      expect(await box.exists('/run/ran-shared')).toBe(false);
      expect(await box.exists('/run/ran-foreign')).toBe(false);
      const refused = `on-trip action shared (real) for activation ${id}: REFUSED`;
      expect(await journalHas(refused, 'crit')).toContain(refused);
      // the rest still ran
      expect((await resultFor('venue-a', id)).result).toBe('verified');
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/shared`, `${DIR}/foreign`);
    }
  });

  it('a credential readable by group or others is refused, the action never run', async () => {
    await box.reset();
    await venue('/admin/seed?account=a&n=1');
    await box.mustRun('chmod', '0644', `${DIR}/venue-a.cred`);
    try {
      const id = await trip('command');
      const r = await resultFor('venue-a', id);
      expect(r.result).toBe('refused');
      expect(r.detail).toContain('venue-a.cred is readable by group or others (mode 644)');
      expect(await openOrders('a')).toHaveLength(1);
    } finally {
      await box.mustRun('chmod', '0600', `${DIR}/venue-a.cred`);
    }
  });

  it("an action cannot touch the ESS's state: the flag, the persisted latch, STATE_DIR, /etc/quantum", async () => {
    await box.reset();
    await action(
      'vandal',
      '#!/bin/bash\nrm -f /run/quantum/ESS_ON /var/lib/quantum-ess/latched && echo REMOVED\n' +
        'head -c 1000000 /dev/zero > /var/lib/quantum-ess/fill && echo FILLED\n' +
        'touch /etc/quantum/ess-actions.d/planted && echo PLANTED\nkill -0 1 && echo SIGNALLED\nexit 0\n',
    );
    try {
      const id = await trip('command');
      const r = await resultFor('vandal', id);
      const out = r.output.join('\n');
      expect(out).not.toMatch(/REMOVED|FILLED|PLANTED|SIGNALLED/);
      expect(await box.exists(FLAG)).toBe(true);
      expect(await box.exists('/var/lib/quantum-ess/latched')).toBe(true);
      expect(await box.exists('/var/lib/quantum-ess/fill')).toBe(false);
      expect(await box.exists(`${DIR}/planted`)).toBe(false);
      const status = await box.ess('status');
      expect(status.exitCode, status.stdout).toBe(3);
      // trading cannot start under the latch
      await box.run('systemctl', 'start', 'quantum-execution.service');
      expect((await box.run('systemctl', 'is-active', 'quantum-execution.service')).stdout.trim()).not.toBe('active');
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/vandal`, `${DIR}/planted`, '/var/lib/quantum-ess/fill');
    }
  });

  it('deactivate stops an action still running before trading resumes: recorded aborted, nothing cancelled after', async () => {
    await box.reset();
    await venue('/admin/seed?account=b&n=3');
    await action(
      'slow',
      `#!/bin/bash\nsleep 8\ncurl -fsS -X DELETE -H "Authorization: Bearer ${TOKEN}" "${VENUE}/orders?account=b"\necho CANCEL-ALL sent\n`,
    );
    try {
      const id = await trip('command');
      await box.sh("for i in $(seq 100); do systemctl list-units --no-legend --state=active 'quantum-ess-action-slow-*' | grep -q . && exit 0; sleep 0.05; done; exit 1");
      const dea = await box.ess('deactivate', '--reason', 'resume while an action runs');
      expect(dea.exitCode, dea.stderr).toBe(0);
      const r = await result('slow');
      expect(r?.activation).toBe(id);
      expect(r?.result, JSON.stringify(r)).toBe('aborted');
      expect(r?.detail).toContain('stopped by deactivate');
      const left = await box.sh("systemctl list-units --no-legend --state=active 'quantum-ess-action-*' | wc -l");
      expect(left.stdout.trim()).toBe('0');
      await sleep(9000);
      expect(await openOrders('b')).toHaveLength(3);
      const audit = await box.sh("grep -c '\"event\":\"action\".*\"result\":\"aborted\"' /var/log/quantum-ess/audit.jsonl || true");
      expect(Number(audit.stdout.trim())).toBeGreaterThanOrEqual(1);
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/slow`);
    }
  });

  it('megabytes and control characters of output: bounded and escaped, the audit chain intact', async () => {
    await box.reset();
    await action('noisy', '#!/bin/bash\nhead -c 3000000 /dev/urandom\nprintf "\\nbell\\a esc\\033[31m nul-free end\\n"\nexit 0\n');
    try {
      const id = await trip('command');
      const r = await resultFor('noisy', id);
      expect(r.result).toBe('verified');
      expect(r.output.length).toBeLessThanOrEqual(10);
      expect(r.output.at(-1)).toBe('bell\u0007 esc\u001b[31m nul-free end');
      const raw = await box.readFile(`${RESULTS}/noisy.json`);
      expect(raw.length).toBeLessThan(32 * 1024);
      // eslint-disable-next-line no-control-regex
      expect(raw.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
      expect((await box.ess('verify-audit')).stdout).toMatch(/^audit chain OK/);
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/noisy`);
    }
  });

  it('the dry-run drill runs every action in check mode, cancelling nothing, and FAILs naming one that fails', async () => {
    await box.reset();
    await venue('/admin/seed?account=a&n=2');
    const cancels = async (): Promise<number> => (JSON.parse(await venue('/admin/stats', 'GET')) as { cancels: number }).cancels;
    const before = await cancels();
    const ok = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
    expect(ok.stdout).toMatch(/^PASS +action venue-a +check mode passed \(nothing cancelled\)$/m);
    expect(ok.exitCode, ok.stdout).toBe(0);
    expect(await cancels()).toBe(before);
    expect(await openOrders('a')).toHaveLength(2);
    expect((await result('venue-a'))?.result).toBe('checked');
    await box.sh(`printf 'wrong-token\\n' > ${DIR}/venue-a.cred`);
    try {
      const bad = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
      expect(bad.exitCode).toBe(1);
      expect(bad.stdout).toMatch(/^FAIL +action venue-a +check mode ended failed \(exited 2\)/m);
      expect(bad.stdout).toContain('SUMMARY: FAIL');
    } finally {
      await box.sh(`printf '%s\\n' '${TOKEN}' > ${DIR}/venue-a.cred`);
    }
  });

  it('the full drill runs them at each trip (ACTION_MODE check) and FAILs naming one that fails; older results do not count', async () => {
    await box.reset();
    await box.sh(`printf 'wrong-token\\n' > ${DIR}/venue-a.cred`);
    try {
      const drill = await box.run('/usr/local/sbin/proof_ess.sh');
      expect(drill.exitCode, drill.stdout).toBe(1);
      for (const method of ['command', 'systemctl', 'touch', 'trip-request']) {
        expect(drill.stdout).toMatch(new RegExp(`^FAIL +${method}: action venue-a +check mode ended failed \\(exited 2\\)`, 'm'));
      }
      expect(drill.stdout).toContain('SUMMARY: FAIL');
      expect(drill.stdout).toMatch(/^ {2}- command: action venue-a: /m);
      // the drill's failure is the action's alone: every trigger stopped and resumed trading
      expect(drill.stdout).not.toMatch(/^FAIL +(?!\S+: action )/m);
      expect((await box.ess('status')).exitCode).toBe(0);
    } finally {
      await box.sh(`printf '%s\\n' '${TOKEN}' > ${DIR}/venue-a.cred`);
    }
  }, 300_000);

  it('two trips in a row: the second runs them only with ACTIONS_ON_RETRIP=yes; deactivate never runs them', async () => {
    await box.reset();
    const id = await trip('command');
    const first = await resultFor('venue-a', id);
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'again');
    await sleep(3000);
    expect((await result('venue-a'))?.counts).toEqual(first.counts);
    await box.ess('deactivate', '--reason', 'done');
    await sleep(2000);
    expect((await result('venue-a'))?.counts).toEqual(first.counts);

    await box.reset();
    await conf('ACTIONS_ON_RETRIP', 'yes');
    await box.reinstall();
    const id2 = await trip('command');
    const once = await resultFor('venue-a', id2);
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'again');
    for (let i = 0; i < 50 && (await result('venue-a'))?.counts.verified === once.counts.verified; i++) await sleep(200);
    expect((await result('venue-a'))?.counts.verified).toBe((once.counts.verified ?? 0) + 1);

    // two runs of one action overlapping: each keeps its own output
    await action('overlap', '#!/bin/bash\nsleep 3\necho "run $ESS_ACTION_LAUNCHED_US"\n');
    try {
      await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'overlap one');
      await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'overlap two');
      for (let i = 0; i < 100 && ((await result('overlap'))?.counts.verified ?? 0) < 2; i++) await sleep(200);
      expect((await result('overlap'))?.counts.verified).toBe(2);
      const runsIn = (journal: string): Set<string | undefined> =>
        new Set([...journal.matchAll(/on-trip action overlap \(real\).*output: \| run ([0-9]+)/g)].map((m) => m[1]));
      let journal = '';
      for (let i = 0; i < 50 && runsIn(journal).size < 2; i++) {
        journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '--no-pager', '-o', 'cat');
        await sleep(200);
      }
      expect(runsIn(journal).size, journal).toBe(2);
    } finally {
      await box.mustRun('rm', '-f', `${DIR}/overlap`);
    }
    await box.reset();
    await conf('ACTIONS_ON_RETRIP', 'no');
    await box.reinstall();
  }, 300_000);
});
