// deploy/proof_ess.sh on real systemd: PASS on a healthy install, FAIL with the right reason for each
// seeded fault, and every unit back as it was afterwards, whatever failed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, Sandbox, TRADING } from '../../sandbox/sandbox.js';
import { schemaErrors } from '../contract/schemas.js';

const METHODS = ['command', 'systemctl', 'touch', 'trip-request'] as const;
// a full drill proves four trigger methods, each with its resume: minutes on a loaded 2-core machine
const FULL_DRILL_MS = 480_000;

let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-drill');
});
afterAll(async () => {
  await box?.shutdown();
});
beforeEach(async () => {
  await box.reset();
});

async function drill(...args: string[]): Promise<{ exitCode: number; out: string }> {
  const r = await box.run('/usr/local/sbin/proof_ess.sh', ...args);
  return { exitCode: r.exitCode, out: r.stdout + r.stderr };
}

async function expectRestored(): Promise<void> {
  expect(await box.exists(FLAG)).toBe(false);
  const states = await box.activeStates(TRADING);
  for (const unit of TRADING) expect(states[unit], unit).toBe('active');
}

async function withDropIn(unit: string, name: string, body: string, fn: () => Promise<void>): Promise<void> {
  await box.sh(`mkdir -p /etc/systemd/system/${unit}.d && printf '${body}' > /etc/systemd/system/${unit}.d/${name} && systemctl daemon-reload`);
  try {
    await fn();
  } finally {
    await box.sh(`rm -f /etc/systemd/system/${unit}.d/${name} && systemctl daemon-reload`);
  }
}

describe('proof_ess.sh', () => {
  it('passes on a healthy install, proving every trigger with its figure, and restores every unit', async () => {
    const r = await drill();
    for (const method of METHODS) {
      expect(r.out).toMatch(new RegExp(`PASS ${method}: trigger\\s+.*latched, exit 0`));
      expect(r.out).toMatch(new RegExp(`PASS ${method}: all trading units stopped\\s*in [0-9.]+ s \\(trigger -> last unit down, systemd's timestamps; deadline 2 s\\)`));
      expect(r.out).toMatch(new RegExp(`PASS ${method}: monitor units untouched`));
      expect(r.out).toMatch(new RegExp(`PASS ${method}: start refused while latched`));
      expect(r.out).toMatch(new RegExp(`PASS ${method}: verdict while latched \\(exporter\\)`));
      expect(r.out).toMatch(new RegExp(`PASS ${method}: resume order`));
      expect(r.out).toMatch(new RegExp(`^  ${method}\\s+pass\\s+[0-9.]+ s`, 'm'));
    }
    expect(r.out).toMatch(/PASS drill time\s+4 trigger methods, trading stopped and resumed after each, in [0-9.]+ s/);
    expect(r.out).toContain('SUMMARY: PASS');
    expect(r.exitCode).toBe(0);
    await expectRestored();
    // the trip request went the whole way: claimed, nothing left in the spool, recorded as the drill's
    expect((await box.run('ls', '-A', '/var/spool/quantum-ess/incoming')).stdout.trim()).toBe('');
    const record = JSON.parse(await box.readFile('/var/lib/quantum-ess/drill.json')) as unknown;
    expect(schemaErrors('drill.schema.json', record)).toEqual([]);
    const triggers = (record as { last: { triggers: { method: string; result: string; latency_seconds: number }[] } }).last.triggers;
    expect(triggers.map((t) => [t.method, t.result])).toEqual(METHODS.map((m) => [m, 'pass']));
    for (const t of triggers) expect(t.latency_seconds).toBeLessThan(2);
    expect(await box.exists('/run/quantum-ess/drill')).toBe(false);
  }, FULL_DRILL_MS);

  it('cannot pass while a trigger is broken: each broken one FAILs, the rest is proved, trading is restored', async () => {
    const breakIt = [
      'mkdir -p /run/drill-test-empty /etc/systemd/system/quantum-ess.service.d /etc/systemd/system/quantum-ess-trigger.service.d /etc/systemd/system/quantum-ess-trip.path.d',
      "printf '[Service]\\nExecStart=\\nExecStart=/bin/true\\n' > /etc/systemd/system/quantum-ess.service.d/99-broken.conf",
      "printf '[Service]\\nExecStart=\\nExecStart=/bin/true\\n' > /etc/systemd/system/quantum-ess-trigger.service.d/99-broken.conf",
      "printf '[Path]\\nDirectoryNotEmpty=\\nPathChanged=\\nDirectoryNotEmpty=/run/drill-test-empty\\n' > /etc/systemd/system/quantum-ess-trip.path.d/99-broken.conf",
      'systemctl daemon-reload && systemctl restart quantum-ess-trip.path',
    ].join(' && ');
    await box.mustRun('bash', '-c', breakIt);
    try {
      const r = await drill();
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.out).not.toContain('production-ready');
      expect(r.exitCode).toBe(1);
      // before the verdict judges the wiring, each method finds its own break; after, the verdict does
      expect(r.out).toMatch(/FAIL (switch armed|verdict before the drill)/);
      // the systemctl method starts quantum-ess.service's twin: what it proves must hold for the unit
      expect(r.out).toMatch(/FAIL systemctl twin\s+quantum-ess-drill-start.service differs from quantum-ess.service .*fix: sudo ess_controller.sh rearm/);
      if (r.out.includes('--- trigger')) {
        expect(r.out).toMatch(/PASS command: trigger\s+ess_controller.sh activate: latched, exit 0/);
        expect(r.out).toMatch(/FAIL touch: all trading units stopped\s+still up: .*quantum-ess.path/);
        expect(r.out).toMatch(/FAIL trip-request: latched\s+.*did not create .*quantum-ess-trip.path did not take the request/);
        expect(r.out).toMatch(/^  touch\s+fail/m);
      }
      await expectRestored();
      expect((await box.run('ls', '-A', '/var/spool/quantum-ess/incoming')).stdout.trim()).toBe('');
    } finally {
      await box.sh('rm -rf /etc/systemd/system/quantum-ess.service.d /etc/systemd/system/quantum-ess-trigger.service.d /etc/systemd/system/quantum-ess-trip.path.d; systemctl daemon-reload; systemctl restart quantum-ess-trip.path');
    }
  }, FULL_DRILL_MS);

  it('fails the twin check when another unit adds a dependency to quantum-ess.service alone', async () => {
    await box.sh(
      "printf '[Unit]\\nBefore=quantum-ess.service\\n[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\nRequiredBy=quantum-ess.service\\n' > /etc/systemd/system/ess-test-blocker.service && systemctl daemon-reload && systemctl enable ess-test-blocker.service",
    );
    try {
      const r = await drill('--dry-run');
      expect(r.exitCode).toBe(1);
      expect(r.out).toMatch(/FAIL systemctl twin\s+quantum-ess-drill-start.service differs from quantum-ess.service .*a dependency another unit adds/);
    } finally {
      await box.sh('systemctl disable ess-test-blocker.service; rm -f /etc/systemd/system/ess-test-blocker.service; systemctl daemon-reload');
    }
  });

  it('--dry-run checks the wiring and stops nothing', async () => {
    const pids = await Promise.all(TRADING.map((u) => box.show(u, 'MainPID')));
    const r = await drill('--dry-run');
    expect(r.out).toContain('SUMMARY: PASS');
    expect(r.exitCode).toBe(0);
    expect(await Promise.all(TRADING.map((u) => box.show(u, 'MainPID')))).toEqual(pids);
  });

  it('fails on a missing latch drop-in, naming the unit, without stopping anything', async () => {
    const dropIn = '/etc/systemd/system/quantum-governor.service.d/50-quantum-ess-latch.conf';
    const saved = await box.readFile(dropIn);
    await box.sh(`rm ${dropIn} && systemctl daemon-reload`);
    try {
      const r = await drill();
      expect(r.out).toMatch(/FAIL latch applied by systemd\s+not applied on quantum-governor.service=no/);
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
      await expectRestored();
    } finally {
      await box.sh(`printf '%s' '${saved.replace(/'/g, "'\\''")}' > ${dropIn} && systemctl daemon-reload`);
    }
  });

  it('fails on a disarmed path unit', async () => {
    await box.mustRun('systemctl', 'stop', 'quantum-ess.path');
    const r = await drill();
    expect(r.out).toMatch(/FAIL switch armed\s+quantum-ess.path is inactive/);
    expect(r.out).toContain('SUMMARY: FAIL');
    expect(r.exitCode).toBe(1);
    await expectRestored();
  });

  it('fails on a unit that refuses to stop on SIGTERM, and still restores it', async () => {
    await withDropIn('quantum-apply-layer.service', '90-stubborn.conf', '[Service]\\nEnvironment=IGNORE_SIGTERM=1\\n', async () => {
      await box.mustRun('systemctl', 'restart', 'quantum-apply-layer.service');
      const r = await drill();
      for (const method of METHODS) {
        expect(r.out).toMatch(new RegExp(`FAIL ${method}: graceful stop \\(SIGTERM\\)\\s+ignored SIGTERM, needed SIGKILL: quantum-apply-layer.service`));
        expect(r.out).toMatch(new RegExp(`(PASS|FAIL) ${method}: all trading units stopped\\s+(in|still up: none;)`));
      }
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
      await expectRestored();
    });
  }, FULL_DRILL_MS);

  it('fails when the exporter is installed but hung, and names the fix', async () => {
    // systemd holds the address (socket activation): a stopped exporter is started again by the
    // drill's own request, so "down" means a process that no longer answers
    await box.mustRun('systemctl', 'kill', '--signal=SIGSTOP', 'quantum-ess-exporter.service');
    try {
      const r = await drill('--dry-run');
      expect(r.out).toMatch(/FAIL exporter\s+quantum-ess-exporter.service is installed but http:\/\/127.0.0.1:10170\/metrics does not answer \(unit active; curl: \(28\) [^)]*\); fix: sudo systemctl restart quantum-ess-exporter.service \(journalctl -u quantum-ess-exporter.service says why it stopped\)/);
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
    } finally {
      await box.mustRun('systemctl', 'kill', '--signal=SIGCONT', 'quantum-ess-exporter.service');
    }
  });

  it('fails when nothing holds the exporter\'s address, and names the fix', async () => {
    await box.mustRun('systemctl', 'stop', 'quantum-ess-exporter.socket', 'quantum-ess-exporter.service');
    try {
      const r = await drill('--dry-run');
      // one cause, one fix: the drill, status and the hung case above say the same command
      const fix = 'fix: sudo systemctl restart quantum-ess-exporter.service (journalctl -u quantum-ess-exporter.service says why it stopped)';
      expect(r.out).toContain(`the exporter's address is not the ESS's: quantum-ess-exporter.socket is inactive, not listening on 127.0.0.1:10170; ${fix}`);
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
      const status = await box.run('/usr/local/sbin/ess_controller.sh', 'status');
      expect(status.stdout).toContain(`quantum-ess-exporter.socket is inactive, not listening on 127.0.0.1:10170; trips and scrapes there do not reach the ESS; ${fix}`);
      // the fix as printed brings the exporter back
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter.service');
      expect((await box.run('systemctl', 'is-active', 'quantum-ess-exporter.socket', 'quantum-ess-exporter.service')).stdout.trim()).toBe('active\nactive');
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-exporter.socket');
    }
  });

  it('reports a broken audit chain at the first bad line', async () => {
    await box.ess('activate', '--reason', 'chain');
    await box.ess('deactivate', '--no-start');
    const ok = await box.ess('verify-audit');
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/audit chain OK: \d+ entries/);
    await box.sh("sed -i '1s/\"reason\":\"[^\"]*\"/\"reason\":\"edited\"/' /var/log/quantum-ess/audit.jsonl");
    const bad = await box.ess('verify-audit');
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain('line 2: "prev" does not match line 1');
  });
});

// Issue 19 item 4: a deactivate on behalf of a drill clears only the drill's own latch, checked and
// cleared under the controller's lock in one step; a real stop landing in any window always wins.
// token() is the latch as the drill reads it (proof_ess.sh: latch_flag_identity_v, ID@MTIME).

describe('the drill clears only its own latch (deactivate --if-activation)', () => {
  beforeAll(async () => {
    // a deactivate that waits for the lock while a real stop lands must not give up first on a
    // loaded machine
    await box.mustRun('sed', '-i', 's/^LOCK_WAIT_SEC=.*/LOCK_WAIT_SEC=120/', '/etc/quantum/ess.conf');
    await box.reinstall();
  }, 400_000);

  async function race(script: string): Promise<string> {
    const r = await box.sh(`source /opt/quantum-ess-src/test/integration/drill-race-lib.sh\n${script}\nsettle; $CTL status >/dev/null; echo "status=$?"; ls /var/lib/quantum-ess/latched`);
    return r.stdout + r.stderr;
  }

  it('a real activate landing between the drill check and its deactivate is never cleared (lock held)', async () => {
    const out = await race(`
      $CTL activate --source drill --reason drill-test >/dev/null; t=$(token)
      exec 9>>/run/quantum-ess/ess.lock; flock 9
      # 9>&-: a child that inherited the lock's descriptor would hold the lock against itself
      $CTL deactivate --no-start --if-activation "$t" --reason "drill: resume" >/tmp/dea.out 2>&1 9>&- & dea=$!
      sleep 0.3
      $CTL activate --reason "REAL stop" >/dev/null 2>&1 9>&- & act=$!
      wait_for 'grep -q REAL /run/quantum/ESS_ON'
      exec 9>&-
      wait $dea; echo "dea=$?"; wait $act; cat /tmp/dea.out; real_reason`);
    expect(out).toContain('dea=1');
    expect(out).toMatch(/deactivate refused, nothing changed: the latch is now .*, not activation/);
    expect(out).toContain('"reason":"REAL stop"');
    expect(out).toContain('status=3');
    expect(out).toContain('/var/lib/quantum-ess/latched');
    expect(await box.activeStates(TRADING)).toEqual(Object.fromEntries(TRADING.map((u) => [u, 'inactive'])));
  });

  it('a real activate rewriting the flag after the check, before it is taken, is put back and kept', async () => {
    const out = await race(`
      $CTL activate --source drill --reason drill-test >/dev/null; t=$(token); pause_in mv ESS_ON
      PATH=/tmp/shim:$PATH $CTL deactivate --no-start --if-activation "$t" >/tmp/dea.out 2>&1 & dea=$!
      wait_for '[ -e /tmp/paused ]'
      $CTL activate --reason "REAL stop" >/dev/null 2>&1 & act=$!
      wait_for 'grep -q REAL /run/quantum/ESS_ON'
      touch /tmp/go; wait $dea; echo "dea=$?"; wait $act; cat /tmp/dea.out; real_reason`);
    expect(out).toContain('dea=1');
    expect(out).toMatch(/the latch is no longer activation .*: a real stop arrived or the flag was touched\); it was not cleared/);
    expect(out).toContain('"reason":"REAL stop"');
    expect(out).toContain('status=3');
    expect(out).toContain('/var/lib/quantum-ess/latched');
  });

  it('a real activate while the drill flag is taken aside latches anew, and the drill does not clear it', async () => {
    const out = await race(`
      $CTL activate --source drill --reason drill-test >/dev/null; t=$(token); pause_in stat .ESS_ON.
      PATH=/tmp/shim:$PATH $CTL deactivate --no-start --if-activation "$t" >/tmp/dea.out 2>&1 & dea=$!
      wait_for '[ -e /tmp/paused ]'
      [ -e /run/quantum/ESS_ON ] || echo "flag aside"
      $CTL activate --reason "REAL stop" >/dev/null 2>&1 & act=$!
      wait_for '[ -e /run/quantum/ESS_ON ]'
      touch /tmp/go; wait $dea; echo "dea=$?"; wait $act; cat /tmp/dea.out; real_reason`);
    expect(out).toContain('flag aside');
    expect(out).toContain('dea=1');
    expect(out).toMatch(/a new stop latched while activation .* was being cleared; it holds/);
    expect(out).toContain('"reason":"REAL stop"');
    expect(out).toContain('status=3');
    expect(out).toContain('/var/lib/quantum-ess/latched');
  });

  it('a touch or a systemctl start during a drill (whatever its own trigger) is never cleared', async () => {
    const out = await race(`
      bash -c 'exec -a proof_ess.sh sleep 120' & drill=$!
      printf '{"id":"drill-test","pid":%d}\\n' $drill > /run/quantum-ess/drill
      touch /run/quantum/ESS_ON; settle; t=$(token)
      sleep 0.02; touch /run/quantum/ESS_ON
      $CTL deactivate --no-start --if-activation "$t" >/dev/null 2>&1; echo "after-touch=$?"
      t=$(token); systemctl start quantum-ess.service; settle
      $CTL deactivate --no-start --if-activation "$t" >/dev/null 2>&1; echo "after-systemctl=$?"
      grep -o '"source":"[^"]*"' /run/quantum/ESS_ON
      kill $drill; rm -f /run/quantum-ess/drill`);
    expect(out).toContain('after-touch=1');
    expect(out).toContain('after-systemctl=1');
    expect(out).toContain('"source":"systemd"');
    expect(out).toContain('status=3');
  });

  it("an operator's systemctl start quantum-ess while the drill's own systemctl method runs is a real stop: kept", async () => {
    // systemd merges a start into a running start job of the same unit: the drill starts a twin
    const r = await box.sh(
      '(/usr/local/sbin/proof_ess.sh > /run/drill.out 2>&1; echo $? > /run/drill.rc) & ' +
        'end=$((SECONDS + 300)); until [ "$(systemctl show -P ActiveState quantum-ess-drill-start.service)" = activating ] || [ $SECONDS -ge $end ]; do sleep 0.002; done; ' +
        'systemctl start quantum-ess.service; echo "operator=$?"; ' +
        'for i in $(seq 2400); do [ -e /run/drill.rc ] && break; sleep 0.1; done',
    );
    const out = await box.readFile('/run/drill.out');
    expect(r.stdout).toContain('operator=0');
    expect(out).toContain('SUMMARY: FAIL');
    expect(await box.exists(FLAG), out).toBe(true);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => ['inactive', 'failed'].includes(s)), out).toBe(true);
    expect((await box.stateJson()).last_activation?.source, out).toBe('systemd');
  }, FULL_DRILL_MS);

  it("races on real systemd: a real stop at any instant of the drill's clear always ends latched", async () => {
    const out = await race(`
      bash -c 'exec -a proof_ess.sh sleep 600' & drill=$!
      printf '{"id":"drill-race","pid":%d}\\n' $drill > /run/quantum-ess/drill
      for i in $(seq 9); do
        $CTL activate --source drill --reason drill-race >/dev/null 2>&1; settle; t=$(token)
        ( sleep 0.$((RANDOM % 7))$((RANDOM % 10))
          case $((i % 3)) in 0) $CTL activate --reason REAL;; 1) systemctl start quantum-ess.service;; 2) touch /run/quantum/ESS_ON;; esac
        ) >/dev/null 2>&1 & r=$!
        sleep 0.$((RANDOM % 3))$((RANDOM % 10))
        $CTL deactivate --no-start --if-activation "$t" >/dev/null 2>&1; dea=$?
        wait $r; settle; sleep 0.05; settle
        $CTL status >/dev/null; st=$?
        echo "round $i trigger $((i % 3)) deactivate=$dea status=$st"
        $CTL deactivate --no-start --reason cleanup >/dev/null 2>&1; settle
      done
      kill $drill; rm -f /run/quantum-ess/drill`);
    const rounds = out.split('\n').filter((l) => l.startsWith('round '));
    expect(rounds).toHaveLength(9);
    for (const line of rounds) expect(line, line).toMatch(/status=3$/);
  }, 600_000);
});
