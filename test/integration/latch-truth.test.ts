// The latch never lies, on real systemd: processes that outlive `systemctl stop`, a drop-in that
// overrides the latch, the flag removed by hand, racing activations, an interrupted resume, the
// installer and hostile text. Each case is a row in the table printed at the end.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, LATCHED, metricValue, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const DOWN = ['inactive', 'failed'];
const summary: { fault: string; outcome: string }[] = [];
let box: Sandbox;

interface StatusJson {
  verdict: string;
  exit_code: number;
  latched: boolean;
  armed: boolean;
  latch_violations: number;
  problems: string[];
  units: { unit: string; guard?: string; processes?: string }[];
}

async function status(): Promise<StatusJson> {
  return JSON.parse((await box.ess('status', '--json')).stdout) as StatusJson;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  box = await Sandbox.boot('ess-truth');
});
afterAll(async () => {
  await box?.shutdown();
  const width = Math.max(...summary.map((s) => s.fault.length), 5);
  console.log(`\n${'fault'.padEnd(width)} | outcome`);
  console.log(`${'-'.repeat(width)}-+-${'-'.repeat(40)}`);
  for (const s of summary) console.log(`${s.fault.padEnd(width)} | ${s.outcome}`);
});
beforeEach(async () => {
  await box.reset();
});

describe('the latch never lies', () => {
  for (const [mode, exec] of [
    ['KillMode=process + setsid + double fork', 'setsid sleep 1000 & (sleep 1000 &); exec sleep 1000'],
    ['KillMode=none + nohup child', 'nohup sleep 1000 >/dev/null 2>&1 & exec sleep 1000'],
  ] as const) {
    it(`empties the cgroup of a unit with ${mode}`, async () => {
      const killMode = mode.startsWith('KillMode=none') ? 'none' : 'process';
      await box.sh(
        `mkdir -p /etc/systemd/system/quantum-execution.service.d && printf '[Service]\\nKillMode=${killMode}\\nExecStart=\\nExecStart=/bin/bash -c "${exec}"\\n' > /etc/systemd/system/quantum-execution.service.d/90-leaky.conf && systemctl daemon-reload && systemctl restart quantum-execution.service && sleep 0.3`,
      );
      try {
        const before = (await box.stateJson().catch(() => null))?.leftover_kills_total ?? 0;
        const r = await box.ess('activate', '--reason', 'leaky');
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/quantum-execution.service\s+leftovers-killed/);
        const cg = await box.show('quantum-execution.service', 'ControlGroup');
        const populated = cg === '' ? 'gone' : (await box.sh(`cat /sys/fs/cgroup/unified${cg}/cgroup.events 2>/dev/null || echo gone`)).stdout;
        expect(populated).not.toContain('populated 1');
        const s = await status();
        expect(s.verdict).toBe('active');
        expect(s.units.find((u) => u.unit === 'quantum-execution.service')?.processes).toBe('no');
        const state = await box.stateJson();
        expect(state.last_activation?.result).toBe('degraded');
        expect(state.leftover_kills_total).toBe(before + 1);
        expect((await box.sh("pgrep -c -f '^sleep 1000' || true")).stdout.trim()).toBe('0');
        summary.push({ fault: `unit with ${mode}`, outcome: 'leftovers SIGKILLed, cgroup empty, result leftovers-killed, counted' });
      } finally {
        await box.sh('rm -f /etc/systemd/system/quantum-execution.service.d/90-leaky.conf && systemctl daemon-reload');
      }
    });
  }

  for (const [how, script] of [
    ['a later drop-in with an empty AssertPathExists=', "mkdir -p /etc/systemd/system/quantum-apply-layer.service.d && printf '[Unit]\\nAssertPathExists=\\n' > /etc/systemd/system/quantum-apply-layer.service.d/99-override.conf && systemctl daemon-reload"],
    ['the drop-in removed (as by systemctl revert)', 'mv /etc/systemd/system/quantum-apply-layer.service.d/50-quantum-ess-latch.conf /run/latch.saved && systemctl daemon-reload'],
  ] as const) {
    it(`sees ${how}: not armed, a violation while latched, and the drill fails`, async () => {
      await box.sh(script);
      try {
        let s = await status();
        expect(s.verdict).toBe('not-armed');
        expect(s.exit_code).toBe(5);
        expect(s.units.find((u) => u.unit === 'quantum-apply-layer.service')?.guard).toBe('no');
        const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
        expect(drill.exitCode).toBe(1);
        expect(drill.stdout).toContain('SUMMARY: FAIL');
        await box.ess('activate', '--reason', 'override');
        s = await status();
        expect(s.verdict).toBe('violation');
        expect(s.exit_code).toBe(4);
        summary.push({ fault: how, outcome: 'status not-armed (5) / violation (4) from the Asserts property; drill FAIL' });
      } finally {
        await box.sh('rm -f /etc/systemd/system/quantum-apply-layer.service.d/99-override.conf; [ -e /run/latch.saved ] && mv /run/latch.saved /etc/systemd/system/quantum-apply-layer.service.d/50-quantum-ess-latch.conf; systemctl daemon-reload');
      }
    });
  }

  it('the flag removed by hand while latched: put back, stopped again, audited, counted; starts refused meanwhile', async () => {
    await box.ess('activate', '--reason', 'tamper');
    const before = (await box.stateJson()).tamper_total;
    await box.mustRun('rm', FLAG);
    const start = await box.run('systemctl', 'start', 'quantum-governor.service'); // races the guard
    expect(start.exitCode).not.toBe(0);
    let back = false;
    for (let i = 0; i < 40 && !back; i += 1) {
      back = await box.exists(FLAG);
      if (!back) await sleep(50);
    }
    expect(back).toBe(true);
    await sleep(500);
    const state = await box.stateJson();
    expect(state.tamper_total).toBe(before + 1);
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toContain('"event":"tamper"');
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-p', 'crit', '-o', 'cat', '--no-pager');
    expect(journal).toContain('LATCH TAMPERED');
    expect((await status()).verdict).toBe('active');
    expect(Object.values(await box.activeStates(TRADING)).every((s) => DOWN.includes(s))).toBe(true);
    summary.push({ fault: 'flag removed by hand while latched', outcome: 'start refused by the persisted latch; flag put back, re-stopped, crit + audit + tamper_total' });
  });

  it('with the guard off, a removed flag is "tampered" (exit 6) and starts stay refused', async () => {
    await box.ess('activate', '--reason', 'tamper, no guard');
    await box.mustRun('systemctl', 'stop', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
    try {
      await box.mustRun('rm', FLAG);
      const r = await box.ess('status');
      expect(r.exitCode, r.stdout).toBe(6);
      expect(r.stdout).toContain('ESS STATUS: ACTIVE');
      expect(r.stdout).toContain('TAMPERED');
      for (const unit of TRADING) expect((await box.run('systemctl', 'start', unit)).exitCode).not.toBe(0);
      summary.push({ fault: 'flag removed with the guard stopped', outcome: 'status exit 6 tampered; every start still refused' });
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
      await box.ess('deactivate', '--no-start', '--reason', 'end of tamper test');
    }
  });

  it('10 racing activations record exactly one activation', async () => {
    const before = (await box.stateJson().catch(() => null))?.activations_total.cli ?? 0;
    await box.sh('for i in $(seq 10); do ess_controller.sh activate --reason "racer $i" >/dev/null 2>&1 & done; wait');
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.05; done');
    const state = await box.stateJson();
    expect(state.activations_total.cli).toBe(before + 1);
    const audit = (await box.readFile('/var/log/quantum-ess/audit.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; id?: string });
    const ids = new Set(audit.filter((e) => e.event === 'activate').map((e) => e.id));
    expect(ids.has(state.flag_id)).toBe(true);
    expect(audit.filter((e) => e.event === 'activate' && e.id === state.flag_id)).toHaveLength(1);
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager', '-n', '300');
    expect(journal).not.toContain('exited before recording it');
    summary.push({ fault: '10 racing activations', outcome: 'one flag owner, one activation recorded, 9 re-verified' });
  });

  it('a resume killed half-way shows in status (exit 8) and deactivate finishes it', async () => {
    await box.ess('activate', '--reason', 'interrupted resume');
    await box.sh('ess_controller.sh deactivate --reason resume >/dev/null 2>&1 & pid=$!; ' +
      'while [ "$(systemctl show -P ActiveState quantum-ai-engine.service)" != active ]; do sleep 0.02; done; kill -9 $pid');
    const r = await box.ess('status');
    expect(r.exitCode, r.stdout).toBe(8);
    expect(r.stdout).toContain('RESUME INTERRUPTED');
    expect(await box.exists(FLAG)).toBe(false);
    const finish = await box.ess('deactivate');
    expect(finish.exitCode, finish.stderr).toBe(0);
    expect((await box.ess('status')).exitCode).toBe(0);
    summary.push({ fault: 'deactivate killed mid-resume', outcome: 'status exit 8 naming the units not started; deactivate finished it' });
  });

  it('deactivate with /var/lib read-only changes nothing and keeps the latch', async () => {
    await box.ess('activate', '--reason', 'read-only state');
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.02; done');
    await box.sh('mount --bind -o ro /var/lib/quantum-ess /var/lib/quantum-ess');
    try {
      const r = await box.ess('deactivate');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('the ESS stays ACTIVE');
      expect(await box.exists(FLAG)).toBe(true);
      expect(await box.exists(LATCHED)).toBe(true);
      expect(await box.show('quantum-ess-trigger.service', 'ActiveState')).toBe('active');
      summary.push({ fault: 'deactivate with /var/lib read-only', outcome: 'refused, exit 1; flag, persisted latch and trigger untouched' });
    } finally {
      await box.sh('umount /var/lib/quantum-ess');
    }
  });

  it('a huge trip batch is worked off in bounded runs, every batch audited', async () => {
    const seen = (await box.readFile('/var/log/quantum-ess/audit.jsonl')).trim().split('\n').length;
    await box.sh('cd /var/spool/quantum-ess/tmp && for i in $(seq 1200); do printf "source=alertmanager\\nreason=storm $i\\n" > r$i; done && mv r* ../incoming/');
    await box.sh('for i in $(seq 600); do [ -z "$(ls -A /var/spool/quantum-ess/incoming)" ] && ' +
      '[ "$(systemctl show -P ActiveState quantum-ess-trip.service)" != activating ] && exit 0; sleep 0.1; done; exit 1');
    const audit = (await box.readFile('/var/log/quantum-ess/audit.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; count?: number });
    const batches = audit.slice(seen).filter((e) => e.event === 'trip-requests');
    // a storm fires the path unit once per file: its trigger limit must not have disarmed it
    expect(await box.show('quantum-ess-trip.path', 'ActiveState')).toBe('active');
    expect(batches.map((b) => b.count).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(1200);
    expect(Math.max(...batches.map((b) => b.count ?? 0))).toBeLessThanOrEqual(500);
    summary.push({ fault: '1200 trip requests at once', outcome: `claimed in ${batches.length} runs of at most 500, each audited` });
  });

  it('hostile bytes in every text field still give valid JSON and an intact audit chain', async () => {
    // a reason, a sudo user name and a trip request of random bytes; a unit whose failed start puts
    // systemctl's two-line message into the deactivation record (it loads: its start fails)
    await box.sh(
      "mkdir -p /etc/systemd/system/quantum-execution.service.d && printf '[Service]\\nExecStartPre=/bin/false\\n' > /etc/systemd/system/quantum-execution.service.d/90-broken.conf && systemctl daemon-reload",
    );
    try {
      for (let i = 0; i < 5; i += 1) {
        await box.sh(
          'r=$(head -c 200 /dev/urandom | tr -d "\\000"); u=$(head -c 40 /dev/urandom | tr -d "\\000"); ' +
            'SUDO_USER="$u" ess_controller.sh activate --reason "$r" >/dev/null 2>&1; ' +
            'head -c 300 /dev/urandom > /var/spool/quantum-ess/tmp/rq && mv /var/spool/quantum-ess/tmp/rq /var/spool/quantum-ess/incoming/rq',
        );
        await box.sh('for i in $(seq 100); do [ -z "$(ls -A /var/spool/quantum-ess/incoming)" ] && exit 0; sleep 0.05; done');
        const resume = await box.ess('deactivate', '--reason', 'resume into a broken unit');
        expect(resume.exitCode).toBe(1);
        expect(resume.stderr).toContain('resume FAILED at quantum-execution.service');
        await box.ess('deactivate', '--no-start', '--reason', 'clear'); // may say "not active": fine
      }
      for (const line of (await box.readFile('/var/log/quantum-ess/audit.jsonl')).trim().split('\n')) {
        expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      }
      await box.stateJson(); // throws if state.json is not JSON
      const status = await box.ess('status', '--json');
      expect(() => JSON.parse(status.stdout) as unknown, status.stdout).not.toThrow();
      const verify = await box.ess('verify-audit');
      expect(verify.exitCode, verify.stdout).toBe(0);
      summary.push({ fault: 'random bytes in reason, user, trip request; 2-line systemctl error', outcome: 'audit, state.json, status --json all parse; chain intact' });
    } finally {
      await box.sh('rm -f /etc/systemd/system/quantum-execution.service.d/90-broken.conf && systemctl daemon-reload');
    }
  });

  it('with /run full the flag is still set (empty) and the persisted latch refuses every start', async () => {
    await box.sh('mount -t tmpfs -o size=8k,nr_inodes=64 ess-full-run /run/quantum && systemctl restart quantum-ess.path quantum-ess-guard.path && ' +
      'dd if=/dev/zero of=/run/quantum/fill bs=1k count=64 2>/dev/null; true');
    try {
      const r = await box.ess('activate', '--reason', 'run full');
      expect(await box.exists(FLAG)).toBe(true);
      expect(await box.exists(LATCHED)).toBe(true);
      expect(Object.values(await box.activeStates(TRADING)).every((s) => DOWN.includes(s)), r.stdout).toBe(true);
      for (const unit of TRADING) expect((await box.run('systemctl', 'start', unit)).exitCode, unit).not.toBe(0);
      expect((await status()).latched).toBe(true);
      // the path unit's run on the empty flag re-verifies this activation: no other is recorded over it
      await box.sh('sleep 1; for i in $(seq 100); do [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" != activating ] && break; sleep 0.1; done');
      const last = (await box.stateJson()).last_activation;
      expect(last?.reason).toBe('run full');
      expect(last?.source).toBe('cli');
      summary.push({ fault: '/run full at activation', outcome: 'an empty flag still created; persisted latch written; every start refused' });
    } finally {
      await box.ess('deactivate', '--no-start');
      const umount = await box.sh('for i in $(seq 50); do umount /run/quantum 2>/dev/null && break; sleep 0.1; done; mountpoint -q /run/quantum && exit 1; systemctl restart quantum-ess.path quantum-ess-guard.path');
      expect(umount.exitCode, 'the full tmpfs on /run/quantum must not outlive this test').toBe(0);
    }
  });

  it('a trip request with a name systemd calls hidden or backup still trips', async () => {
    await box.sh("setpriv --reuid=quantum-ess --regid=quantum-ess --init-groups sh -c 'printf \"reason=backup name\\n\" > /var/spool/quantum-ess/incoming/req.bak'");
    const states = await box.waitFor(TRADING, DOWN, 8000);
    const why = (await box.sh('systemctl status --no-pager quantum-ess-trip.path quantum-ess-trip.service 2>&1; ls -la /var/spool/quantum-ess/incoming; journalctl -u quantum-ess-trip.service -n 20 --no-pager -o cat')).stdout;
    expect(Object.values(states).every((s) => DOWN.includes(s)), why).toBe(true);
    expect(await box.exists(FLAG)).toBe(true);
    summary.push({ fault: 'trip request named req.bak', outcome: 'tripped (PathChanged beside DirectoryNotEmpty)' });
  });

  it('deactivate refuses, changing nothing, when its audit line cannot be written', async () => {
    await box.ess('activate', '--reason', 'audit full');
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.02; done');
    await box.sh('mount -t tmpfs -o size=8k ess-full-log /var/log/quantum-ess && dd if=/dev/zero of=/var/log/quantum-ess/fill bs=1k count=64 2>/dev/null; true');
    try {
      const r = await box.ess('deactivate');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('cannot write the audit trail');
      expect(await box.exists(FLAG)).toBe(true);
      expect((await box.run('systemctl', 'start', 'quantum-governor.service')).exitCode).not.toBe(0);
      summary.push({ fault: 'deactivate with the audit disk full', outcome: 'refused, exit 1; the latch kept (no reset without evidence)' });
    } finally {
      await box.sh('umount /var/log/quantum-ess');
    }
  });

  it('a real trip during a full drill takes over the latch: the drill does not clear it', async () => {
    await box.sh('(/usr/local/sbin/proof_ess.sh > /run/drill.out 2>&1; echo $? > /run/drill.rc) & ' +
      `until [ -e ${FLAG} ]; do sleep 0.01; done; ` +
      "setpriv --reuid=quantum-ess --regid=quantum-ess --init-groups sh -c 'printf \"source=alertmanager\\nreason=REAL breach\\n\" > /var/spool/quantum-ess/incoming/real'; " +
      'for i in $(seq 300); do [ -e /run/drill.rc ] && break; sleep 0.1; done');
    const out = await box.readFile('/run/drill.out');
    expect(await box.exists(FLAG), out).toBe(true);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => DOWN.includes(s)), out).toBe(true);
    expect(out).toContain('SUMMARY: FAIL');
    // the drill names the real stop whichever step met it: its trigger, or its resume
    expect(out).toMatch(/the latch came from elsewhere \(source alertmanager\)|deactivate refused, nothing changed: the latch is now .*, not activation/);
    expect((await box.stateJson()).last_activation?.source).toBe('alertmanager');
    summary.push({ fault: 'real trip while a full drill holds the latch', outcome: 'the trip takes over the flag; the drill FAILs and leaves trading stopped' });
  });

  it('a real trip claimed in the same batch as the drill\'s own trip request takes over the latch', { timeout: 300_000 }, async () => {
    // the real request lands while the drill's is still waiting in incoming/: one claim takes both
    await box.sh('(/usr/local/sbin/proof_ess.sh > /run/drill.out 2>&1; echo $? > /run/drill.rc) & ' +
      'until [ -n "$(ls -A /var/spool/quantum-ess/incoming)" ]; do sleep 0.002; done; ' +
      "setpriv --reuid=quantum-ess --regid=quantum-ess --init-groups sh -c 'printf \"source=alertmanager\\nreason=REAL same batch\\n\" > /var/spool/quantum-ess/incoming/real'; " +
      'for i in $(seq 2400); do [ -e /run/drill.rc ] && break; sleep 0.1; done');
    const out = await box.readFile('/run/drill.out');
    expect(await box.exists(FLAG), out).toBe(true);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => DOWN.includes(s)), out).toBe(true);
    expect(out).toContain('SUMMARY: FAIL');
    const last = (await box.stateJson()).last_activation;
    expect(last?.source, out).toBe('alertmanager');
    expect(last?.reason).toBe("REAL same batch (+1 more requests, a drill's among them)");
    summary.push({ fault: 'real trip claimed with the drill\'s trip request', outcome: 'the real request names the activation and takes over the flag; the drill FAILs, trading stays stopped' });
  });

  it('a FIFO at the flag path blocks nothing: the stop goes through and activate returns', async () => {
    await box.mustRun('mkfifo', '-m', '600', FLAG);
    const states = await box.waitFor(TRADING, DOWN, 4000);
    expect(Object.values(states).every((s) => DOWN.includes(s))).toBe(true);
    const r = await box.run('timeout', '10', '/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'fifo');
    expect(r.exitCode).not.toBe(124);
    expect((await box.run('timeout', '10', '/usr/local/sbin/ess_controller.sh', 'status')).exitCode).not.toBe(124);
    summary.push({ fault: 'FIFO at the flag path', outcome: 'never read: trigger and activate stop all units, no hang' });
  });

  it('the flag removed twice in quick succession is put back both times', async () => {
    await box.ess('activate', '--reason', 'double removal');
    await box.sh(`rm -f ${FLAG}; until [ -e ${FLAG} ]; do sleep 0.01; done; sleep 0.1; rm -f ${FLAG}`);
    let back = false;
    for (let i = 0; i < 100 && !back; i += 1) {
      back = await box.exists(FLAG);
      if (!back) await sleep(100);
    }
    expect(back).toBe(true);
    expect((await status()).verdict).toBe('active');
    summary.push({ fault: 'flag removed again while the guard ran', outcome: 'the guard goes round again: flag back, verdict active' });
  });

  it('a removal whose path event was missed is put back by the guard timer within seconds', async () => {
    // systemd does not watch a path unit's path while its service runs, nor look again after it
    // for PathChanged=: the window is a few ms at the end of a guard run. Stopping the path unit
    // opens it for as long as this test needs.
    await box.ess('activate', '--reason', 'missed removal');
    const before = (await box.stateJson()).tamper_total;
    await box.mustRun('systemctl', 'stop', 'quantum-ess-guard.path');
    try {
      await box.mustRun('rm', FLAG);
      let back = false;
      for (let i = 0; i < 80 && !back; i += 1) {
        back = await box.exists(FLAG);
        if (!back) await sleep(100);
      }
      expect(back).toBe(true);
      await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-guard.service)" = activating ]; do sleep 0.05; done');
      expect((await box.stateJson()).tamper_total).toBe(before + 1);
      expect((await status()).verdict).toBe('active');
      expect(Object.values(await box.activeStates(TRADING)).every((s) => DOWN.includes(s))).toBe(true);
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-guard.path');
    }
    summary.push({ fault: 'flag removed while the guard path unit was not watching', outcome: 'the guard timer puts it back within 5 s, re-stops, counts the tamper' });
  });

  it("a dedicated user's helper in its user's slice: stopped, and status, status --json and the exporter agree", { timeout: 300_000 }, async () => {
    await box.requireExporter();
    const dropIn = '/etc/systemd/system/quantum-governor.service.d/80-user.conf';
    const uid = async (): Promise<string> => (await box.sh('id -u trader')).stdout.trim();
    /**
     * The three surfaces, read again until they all say `want` or 30 s passed (the path unit's run may
     * still be settling, and the exporter follows systemd by signals), then as last seen.
     */
    const surfaces = async (want: string): Promise<{ exit: number; json: string; exporter: string; text: string }> => {
      let seen = { exit: -1, json: '', exporter: '', text: '' };
      for (let i = 0; i < 60; i += 1) {
        const text = await box.ess('status');
        const json = (await status()).verdict;
        const exporter = /^ess_verdict\{verdict="([a-z-]+)"\} 1$/m.exec(await box.scrape())?.[1] ?? '';
        seen = { exit: text.exitCode, json, exporter, text: text.stdout };
        if (json === want && exporter === want) return seen;
        await sleep(500);
      }
      return seen;
    };
    const helper = async (tag: string): Promise<void> => {
      // where the user's own manager (systemd-run --user) or a login session puts a helper: a unit in
      // user-UID.slice (the sandbox cannot run a user manager: PAM); nested, as a delegated subtree may be
      await box.mustRun('systemd-run', '--quiet', `--slice=user-${await uid()}-deep.slice`, '--uid=trader', 'sleep', tag);
      expect((await box.sh(`pgrep -u trader -f 'sleep ${tag}$' | wc -l`)).stdout.trim()).toBe('1');
    };
    await box.sh(
      `id trader >/dev/null 2>&1 || useradd --system trader; printf '[Service]\\nUser=trader\\n' > ${dropIn}; ` +
        'systemctl daemon-reload && systemctl restart quantum-governor.service',
    );
    try {
      // the trading user itself cannot put a helper in a scope of the system manager: only its own slice is open to it
      const own = await box.sh(`setpriv --reuid=$(id -u trader) --regid=$(id -g trader) --clear-groups systemd-run --scope --quiet sleep 9970`);
      expect(own.exitCode, own.stdout + own.stderr).not.toBe(0);
      await helper('9971');
      const r = await box.ess('activate', '--reason', 'helper in the user slice');
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/quantum-governor.service\s+leftovers-killed/);
      expect((await box.sh("pgrep -u trader -f 'sleep 9971$'")).exitCode).toBe(1);
      expect(await surfaces('active')).toMatchObject({ exit: 3, json: 'active', exporter: 'active' });

      // a helper that reaches the slice while latched (started by something the ESS does not stop)
      await helper('9972');
      const latched = await surfaces('violation');
      expect(latched, latched.text).toMatchObject({ exit: 4, json: 'violation', exporter: 'violation' });
      expect(latched.text).toMatch(/quantum-governor.service: RUNNING WHILE LATCHED \(inactive, processes in its cgroup: no, in its user's slice: yes\)/);
      expect((await status()).latch_violations).toBe(1);
      expect(metricValue(await box.scrape(), 'ess_latch_violation')).toBe(1);

      // a process of the user that root put in a scope elsewhere: named by status, killed by the next stop;
      // not judged by the verdict on either side (only root can put it there)
      await box.sh("pkill -u trader -f 'sleep 9972$'; systemd-run --scope --quiet --uid=trader sleep 9973 >/dev/null 2>&1 &");
      await box.sh("for i in $(seq 50); do pgrep -u trader -f 'sleep 9973$' && break; sleep 0.1; done");
      const rootPlaced = await surfaces('active');
      expect(rootPlaced, rootPlaced.text).toMatchObject({ exit: 3, json: 'active', exporter: 'active' });
      expect(rootPlaced.text).toMatch(/quantum-governor.service: processes of its user trader outside its cgroup/);
      expect((await box.ess('activate', '--reason', 'again')).exitCode).toBe(0);
      expect((await box.sh("pgrep -u trader -f 'sleep 9973$'")).exitCode).toBe(1);
      summary.push({
        fault: "dedicated user's helper in its slice / a root-placed scope",
        outcome: 'killed by every stop; while latched: violation in status, --json and the exporter alike',
      });
    } finally {
      await box.sh(`pkill -u trader -f 'sleep 997'; rm -f ${dropIn}; systemctl daemon-reload`);
    }
  });

  it('a trailing-dash unit name (a prefix drop-in for every quantum-* unit) is refused', async () => {
    await box.sh("printf 'TRADING_UNITS=\"quantum- quantum-governor\"\\nSTART_ORDER=\"quantum- quantum-governor\"\\n' > /run/bad.conf");
    const r = await box.ess('check-config', '/run/bad.conf');
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain('TRADING_UNITS');
  });
});
