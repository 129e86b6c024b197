// deploy/install.sh on real systemd: a clean install arms the switch, a re-install changes nothing,
// bad configuration is refused before anything is touched, uninstall keeps the evidence and never
// removes the latch from under a trip that races it, and every unit it installs passes
// `systemd-analyze verify` with no output at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const INSTALL = '/opt/quantum-ess-src/deploy/install.sh';
const ESS_UNITS = [
  'quantum-ess.path',
  'quantum-ess-trigger.service',
  'quantum-ess.service',
  'quantum-ess-trip.path',
  'quantum-ess-trip.service',
  'quantum-ess-restore.service',
  'quantum-ess-guard.path',
  'quantum-ess-guard.service',
  'quantum-ess-guard.timer',
  'quantum-ess-exporter.service',
  'quantum-ess-drill.timer',
  'quantum-ess-drill.service',
  'quantum-ess-drill-start.service',
  'quantum-ess-trip-sweep.timer',
  'quantum-ess-watchdog.timer',
  'quantum-ess-watchdog.service',
  'var-spool-quantum\\x2dess.mount',
];
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-installer', { withEss: false });
});
afterAll(async () => {
  await box?.shutdown();
});

async function snapshot(): Promise<string> {
  return box.mustRun(
    'bash',
    '-c',
    'find /etc/systemd/system /usr/local/lib/quantum-ess /etc/tmpfiles.d /etc/quantum -type f -print0 | sort -z | xargs -0 sha256sum',
  );
}

describe('install.sh', () => {
  it('refuses a configuration with an unknown key, naming it, and installs nothing', async () => {
    await box.sh('mkdir -p /etc/quantum && printf "TRADING_UNITS=quantum-governor\\nSTOP_DEADLNE_SEC=2\\n" > /etc/quantum/ess.conf');
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain('STOP_DEADLNE_SEC: unknown key (line 2)');
    expect((await box.run('test', '-e', '/etc/systemd/system/quantum-ess.path')).exitCode).not.toBe(0);
    await box.mustRun('rm', '/etc/quantum/ess.conf');
  });

  it('refuses a spool over the controller\'s own directory, naming SPOOL_DIR, and mounts nothing', async () => {
    await box.sh('mkdir -p /etc/quantum && printf "SPOOL_DIR=/usr/local/lib/quantum-ess\\n" > /etc/quantum/ess.conf');
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain('SPOOL_DIR: /usr/local/lib/quantum-ess meets /usr/local/lib/quantum-ess');
    expect(await box.show('usr-local-lib-quantum\\x2dess.mount', 'ActiveState')).toBe('inactive');
    expect((await box.run('mountpoint', '-q', '/usr/local/lib/quantum-ess')).exitCode).not.toBe(0);
    await box.mustRun('rm', '/etc/quantum/ess.conf');
  });

  it('a failed install undoes the spool mount it started: nothing left mounted, no mount unit', async () => {
    // /usr/local is still the host's read-only /usr here: placing the programs fails after the spool's mount
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode, r.stdout).not.toBe(0);
    expect(r.stderr).toContain('install: failed: the spool mount var-spool-quantum\\x2dess.mount this run started is undone');
    expect((await box.run('mountpoint', '-q', '/var/spool/quantum-ess')).exitCode).not.toBe(0);
    expect(await box.show('var-spool-quantum\\x2dess.mount', 'ActiveState')).toBe('inactive');
    expect(await box.exists('/etc/systemd/system/var-spool-quantum\\x2dess.mount')).toBe(false);
    await box.mustRun('rm', '/etc/quantum/ess.conf'); // the default the failed run installed
  });

  it('installs the default configuration, arms the switch and puts a latch drop-in on every trading unit', async () => {
    await box.mustRun('mount', '-t', 'tmpfs', 'tmpfs', '/usr/local'); // the host's /usr is read-only here
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('ESS STATUS: INACTIVE');
    expect(await box.show('quantum-ess.path', 'ActiveState')).toBe('active');
    expect(await box.show('quantum-ess-trip.path', 'ActiveState')).toBe('active');
    expect(await box.show('quantum-ess.path', 'UnitFileState')).toBe('enabled');
    for (const unit of TRADING) {
      expect(await box.show(unit, 'DropInPaths')).toContain('50-quantum-ess-latch.conf');
    }
    expect(await box.readFile('/etc/quantum/ess.conf')).toContain('TRADING_UNITS=');
    const status = await box.run('/usr/local/sbin/ess_controller.sh', 'status');
    expect(status.exitCode).toBe(0);
    // the fleet tool, from its own folder of the checkout (not deploy/), is installed beside the controller
    expect(await box.readFile('/usr/local/sbin/ess_fleet.sh')).toBe(await box.readFile('/opt/quantum-ess-src/fleet/ess_fleet.sh'));
    expect(await box.exists('/opt/quantum-ess-src/deploy/ess_fleet.sh')).toBe(false);
    expect((await box.run('/usr/local/sbin/ess_fleet.sh', '--help')).exitCode).toBe(0);
  });

  it('is idempotent: a second run leaves every installed file identical', async () => {
    const before = await snapshot();
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await snapshot()).toBe(before);
  });

  it('installs units that pass systemd-analyze verify with no output', async () => {
    const files = ESS_UNITS.map((u) => `/etc/systemd/system/${u}`);
    const r = await box.run('systemd-analyze', 'verify', '--man=no', ...files, ...TRADING);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('follows a changed trading unit list: drop-ins added and removed', async () => {
    await box.sh(
      "sed -i -e 's/^TRADING_UNITS=.*/TRADING_UNITS=\"quantum-ai-engine quantum-execution quantum-apply-layer\"/' " +
        "-e 's/^START_ORDER=.*/START_ORDER=\"quantum-ai-engine quantum-apply-layer quantum-execution\"/' /etc/quantum/ess.conf",
    );
    expect((await box.run('bash', INSTALL)).exitCode).toBe(0);
    expect(await box.show('quantum-governor.service', 'DropInPaths')).not.toContain('quantum-ess-latch');
    expect(await box.show('quantum-ai-engine.service', 'DropInPaths')).toContain('quantum-ess-latch');
    await box.sh("sed -i -e 's/^TRADING_UNITS=.*/TRADING_UNITS=\"quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor\"/' " +
      "-e 's/^START_ORDER=.*/START_ORDER=\"quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution\"/' /etc/quantum/ess.conf");
    expect((await box.run('bash', INSTALL)).exitCode).toBe(0);
    expect(await box.show('quantum-governor.service', 'DropInPaths')).toContain('quantum-ess-latch');
  });

  // A reboot empties /run and gives a new boot id; the persisted latch carries the boot id it was
  // written in. Simulated here: the guard (which would put a removed flag back at once) is stopped
  // and the persisted latch is dated to another boot.
  async function simulateReboot(): Promise<void> {
    await box.mustRun('systemctl', 'stop', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
    await box.mustRun('rm', FLAG);
    await box.mustRun('sed', '-i', 's/"boot_id":"[^"]*"/"boot_id":"an-earlier-boot"/', '/var/lib/quantum-ess/latched');
    await box.mustRun('systemctl', 'restart', 'quantum-ess-restore.service');
    await box.mustRun('systemctl', 'start', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
  }

  it('keeps the latch across a reboot: the restore unit re-creates the flag from the persisted copy', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'before reboot');
    await simulateReboot();
    expect(await box.exists(FLAG)).toBe(true);
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager');
    expect(journal).toContain('latch restored after reboot');
    expect((await box.run('systemctl', 'start', 'quantum-governor.service')).exitCode).not.toBe(0);
  });

  it('keeps a latch set by a bare touch across a reboot too', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start');
    await box.mustRun('touch', FLAG);
    await box.sh('for i in $(seq 100); do grep -q "\\"last_activation\\":{\\"id\\":\\"flag-" /var/lib/quantum-ess/state.json && exit 0; sleep 0.05; done; exit 1');
    await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.05; done');
    await simulateReboot();
    expect(await box.exists(FLAG)).toBe(true);
  });

  it('fails closed at boot: with the restore failed the persisted latch still refuses every start', async () => {
    expect(await box.show('quantum-governor.service', 'After')).toContain('quantum-ess-restore.service');
    await box.mustRun('systemctl', 'stop', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
    await box.mustRun('rm', FLAG);
    await box.mustRun('chmod', '000', '/usr/local/lib/quantum-ess/ess_controller.sh'); // the restore cannot run
    expect((await box.run('systemctl', 'restart', 'quantum-ess-restore.service')).exitCode).not.toBe(0);
    for (const unit of TRADING) {
      const r = await box.run('systemctl', 'start', unit);
      expect(r.exitCode, unit).not.toBe(0);
      expect(r.stderr).toContain('Assertion failed');
    }
    await box.mustRun('chmod', '755', '/usr/local/lib/quantum-ess/ess_controller.sh');
    const status = await box.run('/usr/local/sbin/ess_controller.sh', 'status');
    expect(status.exitCode, status.stdout).toBe(6);
    expect(status.stdout).toContain('TAMPERED');
    await box.mustRun('systemctl', 'start', 'quantum-ess-guard.path', 'quantum-ess-guard.timer');
    await box.mustRun('systemctl', 'restart', 'quantum-ess-restore.service'); // same boot: puts the flag back
    expect(await box.exists(FLAG)).toBe(true);
  });

  it('LATCH_ACROSS_REBOOT=clear ends the latch with the reboot, audited', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start');
    await box.mustRun('sed', '-i', 's/^LATCH_ACROSS_REBOOT=.*/LATCH_ACROSS_REBOOT=clear/', '/etc/quantum/ess.conf');
    expect((await box.run('bash', INSTALL)).exitCode).toBe(0); // the installed configuration is the one in force
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'before a clearing reboot');
    await simulateReboot();
    expect(await box.exists(FLAG)).toBe(false);
    expect(await box.exists('/var/lib/quantum-ess/latched')).toBe(false);
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toContain('"event":"reboot-clear"');
    await box.mustRun('systemctl', 'start', 'quantum-governor.service');
  });

  it('LATCH_ACROSS_REBOOT=clear: the Redis marker stops saying active once Redis is back after the boot', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'before a clearing reboot, with Redis');
    await box.sh('for i in $(seq 50); do [ -n "$(redis-cli GET quantum:ess:active)" ] && exit 0; sleep 0.1; done; exit 1');
    // at boot the restore runs long before Redis (which keeps its data) answers: frozen here
    await box.mustRun('systemctl', 'kill', '--signal=SIGSTOP', 'redis-server.service');
    await box.mustRun('systemctl', 'stop', 'quantum-ess-trip-sweep.timer');
    try {
      await simulateReboot();
      expect(await box.exists(FLAG)).toBe(false);
      await box.sh('sleep 1.5'); // the marker's attempt times out after REDIS_TIMEOUT_SEC (0.5 s)
    } finally {
      await box.mustRun('systemctl', 'kill', '--signal=SIGCONT', 'redis-server.service');
    }
    // a real boot: Redis loads the marker from its own dump after the restore ran (the sandbox's Redis
    // keeps nothing, and the DEL sent while it was frozen is executed when it resumes: put it back)
    await box.mustRun('redis-cli', 'SET', 'quantum:ess:active', 'from the dump');
    // the bug: the marker then said active for good; now the restore left the clear pending
    expect((await box.readFile('/run/quantum-ess/redis-pending')).trim()).toBe('clear');
    await box.mustRun('systemctl', 'start', 'quantum-ess-trip-sweep.timer');
    await box.sh('for i in $(seq 100); do [ "$(redis-cli EXISTS quantum:ess:active)" = 0 ] && exit 0; sleep 0.1; done; exit 1');
    expect(await box.exists('/run/quantum-ess/redis-pending')).toBe(false);
    const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '-o', 'cat', '--no-pager');
    expect(journal).toContain('redis marker quantum:ess:active clear: done');
    await box.mustRun('sed', '-i', 's/^LATCH_ACROSS_REBOOT=.*/LATCH_ACROSS_REBOOT=keep/', '/etc/quantum/ess.conf');
    expect((await box.run('bash', INSTALL)).exitCode).toBe(0);
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'for the next tests');
  });

  it('refuses to run while latched, changing nothing, even with a changed flag path or unit list', async () => {
    const before = await snapshot();
    await box.sh(
      "sed -i -e 's/^TRADING_UNITS=.*/TRADING_UNITS=\"quantum-ai-engine quantum-execution quantum-apply-layer\"/' " +
        "-e 's/^START_ORDER=.*/START_ORDER=\"quantum-ai-engine quantum-apply-layer quantum-execution\"/' " +
        "-e 's|^FLAG_FILE=.*|FLAG_FILE=/run/quantum/OTHER_FLAG|' /etc/quantum/ess.conf",
    );
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Deactivate first only once the incident is over: sudo ess_controller.sh deactivate --reason "..." starts the trading units (add --no-start to keep them stopped)');
    await box.sh("sed -i -e 's|^FLAG_FILE=.*|FLAG_FILE=/run/quantum/ESS_ON|' " +
      "-e 's/^TRADING_UNITS=.*/TRADING_UNITS=\"quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor\"/' " +
      "-e 's/^START_ORDER=.*/START_ORDER=\"quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution\"/' /etc/quantum/ess.conf");
    expect(await snapshot()).toBe(before);
    expect((await box.run('systemctl', 'start', 'quantum-governor.service')).exitCode).not.toBe(0);
  });

  it('refuses to uninstall while the ESS is active', async () => {
    const r = await box.run('bash', INSTALL, 'uninstall');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('ACTIVE');
    expect(await box.show('quantum-ess.path', 'ActiveState')).toBe('active');
  });

  it('uninstalls cleanly after deactivate and keeps config, state and audit', async () => {
    expect((await box.run('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start')).exitCode).toBe(0);
    const r = await box.run('bash', INSTALL, 'uninstall');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await box.show('quantum-ess.path', 'LoadState')).toBe('not-found');
    for (const unit of TRADING) expect(await box.show(unit, 'DropInPaths')).not.toContain('quantum-ess-latch');
    expect(await box.exists('/usr/local/sbin/ess_controller.sh')).toBe(false);
    expect(await box.exists('/usr/local/sbin/ess_fleet.sh')).toBe(false);
    expect(await box.exists('/etc/quantum/ess.conf')).toBe(true);
    expect(await box.exists('/var/log/quantum-ess/audit.jsonl')).toBe(true);
    expect(await box.exists('/var/lib/quantum-ess/state.json')).toBe(true);
  });

  // A trip racing the removal: `touch` of the flag at several offsets into `install.sh uninstall`.
  // Either the removal is refused with every trading unit stopped and latched, or it removed the
  // latch drop-ins before the touch, which is then ignored (said, when the removal was still
  // running) with nothing half-applied: no unit stopped, no persisted latch, no drop-in left.
  it('uninstall racing a trip: refused with every unit latched, or done before it and the trip ignored', async () => {
    const outcomes: string[] = [];
    for (const delay of ['0.3', '0.7', '1.1', '1.5', '2.0', '3.0']) {
      await box.mustRun('rm', '-f', FLAG);
      const install = await box.run('bash', INSTALL);
      expect(install.exitCode, install.stderr).toBe(0);
      await box.mustRun('systemctl', 'start', '--', ...TRADING);
      // the touch and the removal in one shell, so that the offset is not the sandbox's exec latency;
      // after the touch, whether the removal was still running (a zombie has ended)
      const race = await box.sh(
        `bash ${INSTALL} uninstall >/tmp/race.out 2>&1 & pid=$!; sleep ${delay}; touch ${FLAG}; ` +
          'st=$(ps -o stat= -p "$pid"); wait "$pid"; echo "$? ${st:-gone}"',
      );
      const [rc, stat] = race.stdout.trim().split(' ');
      const out = await box.readFile('/tmp/race.out');
      const context = `${delay}s: ${out}`;
      if (rc === '1') {
        outcomes.push(`${delay}s refused`);
        expect(out, context).toContain('sudo ess_controller.sh deactivate');
        // the activation (in flight, or run by the switch the removal brought back) finishes
        await box.sh(
          'for i in $(seq 1200); do [ -e /var/lib/quantum-ess/latched ] && ' +
            '[ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" != activating ] && exit 0; sleep 0.1; done; exit 1',
        );
        const states = await box.waitFor(TRADING, ['inactive', 'failed'], 60_000);
        for (const unit of TRADING) {
          expect(states[unit], `${unit} ${context}`).not.toBe('active');
          expect(await box.show(unit, 'DropInPaths'), `${unit} ${context}`).toContain('50-quantum-ess-latch.conf');
          expect((await box.run('systemctl', 'start', unit)).exitCode, `${unit} ${context}`).not.toBe(0);
        }
        expect(await box.show('quantum-ess.path', 'ActiveState')).toBe('active');
        expect(await box.show('quantum-ess-trip.path', 'ActiveState')).toBe('active');
        expect(await box.show('quantum-ess.path', 'UnitFileState')).toBe('enabled');
        await box.mustRun('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start', '--reason', 'race test');
      } else {
        expect(rc, context).toBe('0');
        outcomes.push(`${delay}s removed`);
        expect(await box.exists('/var/lib/quantum-ess/latched'), context).toBe(false);
        expect(await box.exists(FLAG), context).toBe(true);
        for (const unit of TRADING) {
          expect(await box.show(unit, 'DropInPaths'), `${unit} ${context}`).not.toContain('quantum-ess-latch');
          expect(await box.show(unit, 'ActiveState'), `${unit} ${context}`).toBe('active');
        }
        expect(await box.show('quantum-ess.path', 'LoadState')).toBe('not-found');
        if (stat !== 'gone' && !stat?.startsWith('Z')) expect(out, context).toContain('was NOT acted upon');
      }
    }
    console.log(`uninstall racing a touch: ${outcomes.join(', ')}`);
  }, 900_000);

  it('uninstall --force while latched releases the latch on the record too: a reinstall is armed and stays inactive', async () => {
    await box.mustRun('rm', '-f', FLAG); // the race above may end with a touch after the removal
    const install = await box.run('bash', INSTALL);
    expect(install.exitCode, install.stderr).toBe(0);
    await box.mustRun('systemctl', 'start', '--', ...TRADING);
    expect((await box.run('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'before force')).exitCode).toBe(0);
    const r = await box.run('bash', INSTALL, 'uninstall', '--force');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('released the latch of activation');
    expect(await box.exists(FLAG)).toBe(false);
    expect(await box.exists('/var/lib/quantum-ess/latched')).toBe(false);
    expect(JSON.parse(await box.readFile('/var/lib/quantum-ess/state.json')).active).toBe(false);
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toContain('"event":"uninstall-force"');
    // no step by hand before the reinstall, and nothing latches after it (the guard timer included)
    expect((await box.run('bash', INSTALL)).exitCode).toBe(0);
    await box.mustRun('systemctl', 'start', '--', ...TRADING);
    await box.sh('sleep 7');
    const status = await box.run('/usr/local/sbin/ess_controller.sh', 'status');
    expect(status.exitCode, status.stdout).toBe(0);
    expect(await box.exists(FLAG)).toBe(false);
    for (const unit of TRADING) expect(await box.show(unit, 'ActiveState'), unit).toBe('active');
  }, 120_000);
});
