// The stop path on REAL systemd: every activation method, the latch, the resume order, stubborn units,
// Redis faults, races and permissions. One container for the file, reset between tests.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, MONITOR, Sandbox, START_ORDER, TRADING } from '../../sandbox/sandbox.js';

const DOWN = ['inactive', 'failed'];
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-stop-path');
});
afterAll(async () => {
  await box?.shutdown();
});
beforeEach(async () => {
  await box.reset();
});

async function expectAllTradingStoppedMonitorsUntouched(): Promise<void> {
  const trading = await box.waitFor(TRADING, DOWN);
  for (const unit of TRADING) expect(DOWN, `${unit} is ${trading[unit]}`).toContain(trading[unit]);
  const monitors = await box.activeStates(MONITOR);
  for (const unit of MONITOR) expect(monitors[unit], `monitor ${unit}`).toBe('active');
  for (const unit of MONITOR) expect(await box.show(unit, 'NRestarts'), `${unit} restarted`).toBe('0');
}

async function waitForState(predicate: (s: Awaited<ReturnType<Sandbox['stateJson']>>) => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await box.stateJson().then(predicate, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`state file never matched: ${await box.readFile('/var/lib/quantum-ess/state.json')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('activation methods', () => {
  it('ess_controller.sh activate stops every trading unit and no monitor unit', async () => {
    const r = await box.ess('activate', '--reason', 'integration: cli');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ESS ACTIVATED .*all trading units stopped in [0-9.]+ s, result ok/);
    await expectAllTradingStoppedMonitorsUntouched();
    const state = await box.stateJson();
    expect(state.active).toBe(true);
    expect(state.last_activation?.source).toBe('cli');
    expect(state.last_activation?.reason).toBe('integration: cli');
    expect(state.last_activation?.latency_seconds).toBeLessThan(2);
    const status = await box.ess('status');
    expect(status.exitCode).toBe(3);
    expect(status.stdout).toContain('ESS STATUS: ACTIVE');
  });

  it('systemctl start quantum-ess.service stops every trading unit and no monitor unit', async () => {
    const r = await box.run('systemctl', 'start', 'quantum-ess.service');
    expect(r.exitCode, r.stderr).toBe(0);
    await expectAllTradingStoppedMonitorsUntouched();
    expect(await box.exists(FLAG)).toBe(true);
    await waitForState((s) => s.active && s.last_activation?.source === 'systemd');
  });

  it('touching the latch flag stops every trading unit and no monitor unit', async () => {
    await box.mustRun('touch', FLAG);
    await expectAllTradingStoppedMonitorsUntouched();
    await waitForState((s) => s.active && s.last_activation?.source === 'path');
    const state = await box.stateJson();
    expect(state.last_activation?.reason).toContain('created outside the controller');
  });

  it('an unprivileged trip request in the spool stops every trading unit', async () => {
    await box.sh(
      "printf 'source=alertmanager\\nscope=group:exec\\nreason=alert EssTest fingerprint=abc\\n' > /var/spool/quantum-ess/tmp/r1 && " +
        'mv /var/spool/quantum-ess/tmp/r1 /var/spool/quantum-ess/incoming/r1',
    );
    await expectAllTradingStoppedMonitorsUntouched();
    await waitForState((s) => s.active && s.last_activation?.source === 'alertmanager');
    expect((await box.stateJson()).last_activation?.reason).toContain('alert EssTest fingerprint=abc');
    expect((await box.stateJson()).last_activation?.scope).toBe('group:exec');
    expect((await box.run('ls', '-A', '/var/spool/quantum-ess/incoming')).stdout.trim()).toBe('');
    // the requests' journal lines come after state.json (spool_record runs last)
    let journal = '';
    for (let i = 0; i < 100 && !journal.includes('trip request r1:'); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '--no-pager', '-o', 'cat');
    }
    expect(journal).toMatch(/ACTIVATING id=\S+ source=alertmanager scope=group:exec actor=/);
    expect(journal).toContain('trip request r1: source=alertmanager scope=group:exec reason=alert EssTest fingerprint=abc');
  });

  it('Ctrl-C or a hang-up at any moment of a command-line activate never aborts its stop: stopped, recorded, said', async () => {
    for (const delay of ['0.1', '0.3', '1']) {
      await box.reset();
      const r = await box.sh('set -m; /usr/local/sbin/ess_controller.sh activate --reason int >/tmp/int.out 2>&1 & pid=$!; '
        + `sleep ${delay}; kill -INT -- -$pid 2>/dev/null; kill -HUP -- -$pid 2>/dev/null; wait $pid; echo "rc=$?"; cat /tmp/int.out`);
      expect(r.stdout, `signals at ${delay} s`).toMatch(/^rc=0\nESS ACTIVATED \(id \S+, source cli\): all trading units stopped/);
      await expectAllTradingStoppedMonitorsUntouched();
      const id = (await box.stateJson()).flag_id;
      expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toContain(`"event":"activate","id":"${id}"`);
      expect((await box.ess('status')).exitCode).toBe(3);
    }
  }, 300_000);

  it('a second activate re-verifies, re-stops and does not count a new activation', async () => {
    await box.ess('activate', '--reason', 'first');
    await waitForState((s) => s.active);
    const before = await box.stateJson();
    await box.run('systemctl', 'kill', '--signal=SIGKILL', 'quantum-governor.service'); // noise, must stay down
    const r = await box.ess('activate', '--reason', 'second');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('ALREADY ACTIVE');
    const after = await box.stateJson();
    expect(after.last_activation?.id).toBe(before.last_activation?.id);
    expect(after.activations_total).toEqual(before.activations_total);
    await expectAllTradingStoppedMonitorsUntouched();
  });
});

describe('the latch', () => {
  it('refuses systemctl start of a trading unit while latched, loudly', async () => {
    await box.ess('activate', '--reason', 'latch test');
    // the path unit's re-verification (a stop) would cancel a start job instead of the assertion refusing it
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.02; done');
    for (const unit of TRADING) {
      const r = await box.run('systemctl', 'start', unit);
      expect(r.exitCode, unit).not.toBe(0);
      expect(r.stderr).toMatch(/Assertion failed/);
    }
    await new Promise((r) => setTimeout(r, 500));
    const states = await box.activeStates(TRADING);
    for (const unit of TRADING) expect(DOWN).toContain(states[unit]);
  });

  it('keeps a Restart=always unit down when it dies while latched (switch disarmed on purpose)', async () => {
    // Disarm the path unit so the flag alone (not a stop) is what holds the unit down.
    await box.mustRun('systemctl', 'stop', 'quantum-ess.path');
    await box.mustRun('touch', FLAG);
    await box.mustRun('systemctl', 'kill', '--signal=SIGKILL', 'quantum-ai-engine.service');
    await new Promise((r) => setTimeout(r, 1500)); // RestartSec=200ms: several restart chances
    expect(DOWN).toContain((await box.activeStates(['quantum-ai-engine.service']))['quantum-ai-engine.service']);
    expect(await box.show('quantum-ai-engine.service', 'MainPID')).toBe('0');
    await box.mustRun('systemctl', 'start', 'quantum-ess.path'); // re-arm: the flag trips the rest
    await expectAllTradingStoppedMonitorsUntouched();
  });

  it('blocks a Wants= pull-in of a trading unit while latched', async () => {
    await box.ess('activate', '--reason', 'wants test');
    await box.sh(
      "printf '[Unit]\\nWants=quantum-execution.service\\n[Service]\\nType=oneshot\\nExecStart=/bin/true\\n' > /etc/systemd/system/puller.service && systemctl daemon-reload",
    );
    await box.run('systemctl', 'start', 'puller.service');
    await new Promise((r) => setTimeout(r, 300));
    expect(DOWN).toContain((await box.activeStates(['quantum-execution.service']))['quantum-execution.service']);
  });

  it('survives 20 quick activate/deactivate cycles with the path unit still armed and working', async () => {
    const t0 = Date.now();
    for (let i = 0; i < 20; i += 1) {
      await box.mustRun('touch', FLAG); // the path unit is what must keep working
      const states = await box.waitFor(TRADING, DOWN, 3000);
      expect(Object.values(states).every((s) => DOWN.includes(s)), `cycle ${i}: ${JSON.stringify(states)}`).toBe(true);
      const d = await box.ess('deactivate', '--no-start', '--reason', `cycle ${i}`);
      expect(d.exitCode, d.stderr).toBe(0);
      await box.mustRun('systemctl', 'start', ...TRADING);
    }
    console.log(`20 touch/deactivate cycles took ${Date.now() - t0} ms`);
    expect(await box.show('quantum-ess.path', 'ActiveState')).toBe('active');
    expect(await box.show('quantum-ess-trigger.service', 'ActiveState')).toBe('inactive');
    await box.mustRun('touch', FLAG);
    await expectAllTradingStoppedMonitorsUntouched();
  });
});

describe('controlled resume', () => {
  it('starts the trading units in the configured order, each active before the next', async () => {
    await box.ess('activate', '--reason', 'order test');
    const r = await box.ess('deactivate', '--reason', 'order test done');
    expect(r.exitCode, r.stderr).toBe(0);
    const stamps = await Promise.all(START_ORDER.map((u) => box.show(u, 'ActiveEnterTimestampMonotonic').then(Number)));
    for (let i = 1; i < stamps.length; i += 1) expect(stamps[i]).toBeGreaterThan(stamps[i - 1] ?? 0);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
    expect(await box.exists(FLAG)).toBe(false);
    const state = await box.stateJson();
    expect(state.active).toBe(false);
    expect(state.last_deactivation?.result).toBe('ok');
  });

  it('--no-start clears the latch but starts nothing', async () => {
    await box.ess('activate');
    const r = await box.ess('deactivate', '--no-start');
    expect(r.exitCode).toBe(0);
    expect(await box.exists(FLAG)).toBe(false);
    const states = await box.activeStates(TRADING);
    for (const unit of TRADING) expect(DOWN).toContain(states[unit]);
    expect((await box.run('systemctl', 'start', 'quantum-governor.service')).exitCode).toBe(0);
  });

  it('stops the resume at a unit that fails to start and names it', async () => {
    await box.ess('activate');
    await box.sh(
      "mkdir -p /etc/systemd/system/quantum-apply-layer.service.d && printf '[Service]\\nExecStart=\\nExecStart=/bin/false\\nRestart=no\\n' > /etc/systemd/system/quantum-apply-layer.service.d/90-broken.conf && systemctl daemon-reload",
    );
    try {
      const r = await box.ess('deactivate');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('resume FAILED at quantum-apply-layer.service');
      const states = await box.activeStates(TRADING);
      expect(states['quantum-governor.service']).toBe('active');
      expect(states['quantum-ai-engine.service']).toBe('active');
      expect(DOWN).toContain(states['quantum-execution.service']); // after the failed one: never started
      expect((await box.stateJson()).last_deactivation?.detail).toContain('quantum-apply-layer.service');
    } finally {
      await box.sh('rm -rf /etc/systemd/system/quantum-apply-layer.service.d/90-broken.conf && systemctl daemon-reload');
    }
  });

  it('two deactivates at once: exactly one resumes, the other exits 2 and starts nothing', async () => {
    await box.ess('activate', '--reason', 'race test');
    const audit = '/var/log/quantum-ess/audit.jsonl';
    const before = Number((await box.sh(`wc -l <${audit}`)).stdout.trim());
    const ctl = '/usr/local/sbin/ess_controller.sh';
    const r = await box.sh(
      `${ctl} deactivate --reason one >/tmp/one 2>&1 & a=$!; ${ctl} deactivate --reason two >/tmp/two 2>&1 & ` +
        'b=$!; wait $a; echo "one $?"; wait $b; echo "two $?"; cat /tmp/one /tmp/two >&2',
    );
    const codes = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')));
    expect(Object.values(codes).sort(), r.stderr).toEqual(['0', '2']);
    expect(r.stderr).toContain('ESS is not active');
    expect(r.stderr).not.toContain('interrupted resume');
    const events = (await box.readFile(audit)).trim().split('\n').slice(before).map((l) => JSON.parse(l) as { event: string; reason?: string });
    expect(events.filter((e) => e.event === 'resume')).toHaveLength(1);
    const winner = codes.one === '0' ? 'one' : 'two';
    expect(events.find((e) => e.event === 'resume')?.reason).toBe(winner);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
  });

  it('refuses to deactivate when not active', async () => {
    const r = await box.ess('deactivate');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not active');
  });
});

describe('permissions and evidence', () => {
  it('refuses activate and deactivate for a non-root user and changes nothing', async () => {
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/usr/local/sbin/ess_controller.sh'];
    const a = await box.run(...asNobody, 'activate');
    expect(a.exitCode).toBe(77);
    expect(a.stderr).toContain('must run as root');
    expect(await box.exists(FLAG)).toBe(false);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
    await box.ess('activate');
    const d = await box.run(...asNobody, 'deactivate');
    expect(d.exitCode).toBe(77);
    expect(await box.exists(FLAG)).toBe(true);
    const s = await box.run(...asNobody, 'status');
    expect(s.stdout).toContain('ESS STATUS: ACTIVE'); // reading is allowed
  });

  it('an unprivileged member of quantum-ess can request a trip but cannot clear the latch', async () => {
    await box.ess('activate');
    const asExporter = ['setpriv', '--reuid=quantum-ess', '--regid=quantum-ess', '--init-groups'];
    expect((await box.run(...asExporter, 'rm', '-f', FLAG)).exitCode).not.toBe(0);
    expect((await box.run(...asExporter, 'systemctl', 'start', 'quantum-governor.service')).exitCode).not.toBe(0);
    expect((await box.run(...asExporter, 'ls', '/var/spool/quantum-ess/incoming')).exitCode).not.toBe(0);
    expect(await box.exists(FLAG)).toBe(true);
  });

  it('writes the journal under tag quantum-ess and a hash-chained audit line per action', async () => {
    await box.ess('activate', '--reason', 'evidence test');
    await box.ess('deactivate', '--reason', 'evidence done');
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '--no-pager', '-o', 'cat');
    expect(journal).toMatch(/ACTIVATING id=\S+ source=cli actor=root reason="evidence test"/);
    expect(journal).toMatch(/ESS ACTIVATED id=\S+ result=ok: all trading units stopped in [0-9.]+s/);
    expect(journal).toMatch(/DEACTIVATING id=\S+ actor=root reason="evidence done"/);
    const lines = (await box.readFile('/var/log/quantum-ess/audit.jsonl')).trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { event: string; reason?: string });
    expect(events.some((e) => e.event === 'activate' && e.reason === 'evidence test')).toBe(true);
    expect(events.some((e) => e.event === 'deactivate' && e.reason === 'evidence done')).toBe(true);
  });
});
