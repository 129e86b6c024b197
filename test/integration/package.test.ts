// The Debian package (npm run package) on real systemd, in a sandbox with no Node at all: installed with
// apt-get, it arms the switch and serves metrics from its single executable; every trip method latches;
// upgrade and removal refuse while latched; an upgrade while armed to a newer build (newer-package.sh:
// its exporter built again with a newer version) keeps the switch armed throughout and runs it;
// remove keeps the evidence and the configuration, purge the evidence only. The sandbox shares the
// host's /usr read-only and starts with an empty /var: /usr gets a tmpfs overlay inside the container
// (so dpkg can write there, and Node can be deleted from it) and /var/lib/dpkg a copy of the host's.
import { access, cp, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAG, LATCHED, metricValue, MONITOR, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CTL = '/usr/sbin/ess_controller.sh';
const NEWER = '/root/quantum-ess-newer.deb';
// the marker newer-package.sh adds to the root side's status library
const MARKED_LIB = 'lib/status.sh';
let box: Sandbox;
let root: string; // the container's root on the host
let deb: string; // the package's path inside the sandbox
let hostDeb: string; // ... and on the host
let version: string;

async function builtPackage(): Promise<string> {
  version = (JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const arch = (await execa('dpkg', ['--print-architecture'])).stdout.trim();
  const name = `quantum-ess_${version}_${arch}.deb`;
  hostDeb = path.join(REPO, 'build', name);
  try {
    await access(hostDeb);
  } catch (error) {
    throw new Error(`build/${name} not found: build it first (npm run package)`, { cause: error });
  }
  return `/opt/quantum-ess-src/build/${name}`;
}

/** dpkg and apt inside the container: the host's package database copied in, /usr writable, Node gone. */
async function prepareDpkg(): Promise<void> {
  root = (await execa('bash', [path.join(REPO, 'sandbox/sandbox.sh'), 'root', 'ess-package'])).stdout.trim();
  await cp('/var/lib/dpkg', path.join(root, 'var/lib/dpkg'), { recursive: true, preserveTimestamps: true });
  await box.mustRun(
    'bash',
    '-c',
    [
      'set -e',
      // the host's stat overrides name groups this container's /etc/group does not have
      ': > /var/lib/dpkg/statoverride',
      'mkdir -p /etc/apt/apt.conf.d /etc/apt/sources.list.d /etc/apt/preferences.d && touch /etc/apt/sources.list',
      'mkdir -p /run/usr-overlay && mount -t tmpfs -o mode=0755 usr-upper /run/usr-overlay',
      'mkdir -p /run/usr-overlay/upper /run/usr-overlay/work',
      'mount -t overlay -o lowerdir=/usr,upperdir=/run/usr-overlay/upper,workdir=/run/usr-overlay/work usr-overlay /usr',
      'rm -rf /usr/bin/node /usr/bin/nodejs /usr/bin/npm /usr/bin/npx /usr/bin/corepack /usr/lib/node_modules /usr/local/bin/node',
    ].join('\n'),
  );
}

async function aptInstall(file: string): Promise<{ exitCode: number; out: string }> {
  const r = await box.sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold ${file} 2>&1`);
  return { exitCode: r.exitCode, out: r.stdout };
}

async function installedVersion(): Promise<string> {
  return (await box.sh("dpkg-query -W -f='${Status} ${Version}' quantum-ess")).stdout.trim();
}

async function waitForFile(file: string, present: boolean): Promise<void> {
  await box.sh(`for i in $(seq 200); do test ${present ? '' : '!'} -e ${file} && exit 0; sleep 0.05; done; exit 1`);
}

/** Deactivated without starting anything, then every unit started again as the test's own step. */
async function release(): Promise<void> {
  await box.mustRun(CTL, 'deactivate', '--no-start', '--reason', 'package test');
  await box.mustRun('systemctl', 'reset-failed');
  await box.mustRun('systemctl', 'start', '--', ...TRADING, ...MONITOR);
  const states = await box.waitFor([...TRADING], ['active']);
  expect(Object.values(states).every((s) => s === 'active'), JSON.stringify(states)).toBe(true);
}

async function expectLatched(): Promise<void> {
  const states = await box.waitFor([...TRADING], ['inactive', 'failed']);
  expect(Object.values(states).every((s) => s !== 'active'), JSON.stringify(states)).toBe(true);
  const status = await box.run(CTL, 'status');
  expect(status.stdout).toContain('verdict:  active: latched');
}

const ALERT = JSON.stringify({
  version: '4', groupKey: '{}:{alertname="PackageTest"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
  groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
  alerts: [{ status: 'firing', labels: { alertname: 'PackageTest', ess_trip: 'true' }, annotations: {},
    startsAt: '2026-11-26T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint: 'pkg1' }],
});

beforeAll(async () => {
  deb = await builtPackage();
  box = await Sandbox.boot('ess-package', { withEss: false });
  await prepareDpkg();
});
afterAll(async () => {
  await box?.shutdown();
});

describe('the Debian package', () => {
  it('the sandbox has no Node: no node, no npm, no node_modules on any path', async () => {
    const r = await box.sh('command -v node nodejs npm npx; ls -d /usr/lib/node_modules 2>/dev/null; true');
    expect(r.stdout.trim()).toBe('');
  });

  it('a truncated package is refused by dpkg and the host is unchanged', async () => {
    await box.mustRun('bash', '-c', `head -c 1000000 ${deb} > /root/truncated.deb`);
    const r = await box.sh('dpkg -i /root/truncated.deb 2>&1');
    expect(r.exitCode).not.toBe(0);
    expect(await installedVersion()).not.toMatch(/ok installed/);
    expect(await box.exists('/etc/systemd/system/quantum-ess.path')).toBe(false);
    expect(await box.exists('/usr/bin/quantum-ess-exporter')).toBe(false);
  });

  it("an invalid ess.conf fails the configure step with the installer's message, nothing half-applied; purge still works", async () => {
    await box.mustRun('bash', '-c', 'mkdir -p /etc/quantum && printf "TRADING_UNITS=quantum-governor\\nSTOP_DEADLNE_SEC=2\\n" > /etc/quantum/ess.conf');
    const r = await aptInstall(deb);
    expect(r.exitCode).not.toBe(0);
    expect(r.out).toContain('STOP_DEADLNE_SEC: unknown key (line 2)');
    expect(await installedVersion()).not.toMatch(/ok installed/);
    expect(await box.exists('/etc/systemd/system/quantum-ess.path')).toBe(false);
    expect(await box.exists('/usr/lib/quantum-ess')).toBe(false);
    for (const u of TRADING) expect(await box.exists(`/etc/systemd/system/${u}.d`)).toBe(false);
    const purge = await box.sh('dpkg --purge quantum-ess 2>&1');
    expect(purge.exitCode, purge.stdout).toBe(0);
    expect(await box.exists('/etc/quantum/ess.conf')).toBe(false);
    expect(await box.exists('/usr/bin/quantum-ess-exporter')).toBe(false);
  });

  it('installs with apt-get: configuration validated, drop-ins generated, switch armed, exporter serving', async () => {
    const r = await aptInstall(deb);
    expect(r.exitCode, r.out).toBe(0);
    expect(await installedVersion()).toBe(`install ok installed ${version}`);
    expect(r.out).toContain('verdict:  armed');
    expect((await box.run(CTL, 'status')).exitCode).toBe(0);
    for (const u of TRADING) expect(await box.exists(`/etc/systemd/system/${u}.d/50-quantum-ess-latch.conf`)).toBe(true);
    // the conffiles, as dpkg knows them
    const conffiles = (await box.sh("dpkg-query -W -f='${Conffiles}' quantum-ess")).stdout;
    expect(conffiles).toContain('/etc/quantum/ess.conf');
    expect(conffiles).toContain('/etc/quantum/ess-exporter.json');
    expect(conffiles).toContain('/etc/quantum/ess-web-config.yml');
    // the exporter is the single executable, and it serves
    expect(await box.show('quantum-ess-exporter.service', 'ActiveState')).toBe('active');
    expect(await box.show('quantum-ess-exporter.service', 'ExecStart')).toContain('path=/usr/bin/quantum-ess-exporter ');
    const v = await box.mustRun('quantum-ess-exporter', '--version');
    expect(v).toMatch(new RegExp(`^quantum-ess-exporter ${version.replaceAll('.', '\\.')} \\(revision [0-9a-f]+.*single executable; Node\\.js v20\\.`));
    const text = await box.scrape();
    expect(metricValue(text, `ess_build_info{version="${version}",nodejs_version="${process.version}"}`)).toBe(1);
    expect(metricValue(text, 'ess_verdict{verdict="armed"}')).toBe(1);
  });

  it('trips by touch, by the controller and by an Alertmanager webhook', async () => {
    await box.mustRun('touch', FLAG);
    await expectLatched();
    await release();

    await box.mustRun(CTL, 'activate', '--reason', 'package test');
    await expectLatched();
    await release();

    const trip = await box.sh(
      `curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" ` +
        `-H 'Content-Type: application/json' --data-binary '${ALERT}' http://127.0.0.1:10170/alertmanager`,
    );
    expect(trip.stdout).toBe('200');
    await waitForFile(FLAG, true);
    await expectLatched();
    expect((await box.stateJson()).last_activation).toMatchObject({ source: 'alertmanager' });
  });

  it('refuses an upgrade and a removal while latched, naming ess_controller.sh deactivate; the latch holds', async () => {
    // still latched by the webhook's trip; a newer build: its exporter built again with the newer
    // version, a marker in its root side
    await execa('bash', [path.join(REPO, 'test/integration/newer-package.sh'), hostDeb, `${version}+1`, path.join(root, NEWER)]);
    const up = await aptInstall(NEWER);
    expect(up.exitCode).not.toBe(0);
    expect(up.out).toContain('the ESS is ACTIVE');
    expect(up.out).toContain('sudo ess_controller.sh deactivate');
    expect(await installedVersion()).toBe(`install ok installed ${version}`);

    const rm = await box.sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y quantum-ess 2>&1');
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stdout).toContain('sudo ess_controller.sh deactivate');
    expect(await installedVersion()).toBe(`install ok installed ${version}`);
    // nothing was unlatched or started
    expect(await box.exists(FLAG)).toBe(true);
    await expectLatched();
    for (const u of TRADING) expect(await box.exists(`/etc/systemd/system/${u}.d/50-quantum-ess-latch.conf`)).toBe(true);
    await release();
  });

  it('upgrades while armed to a newer build: its exporter runs, its root side is installed, the switch is armed at every sample, an edited conffile is kept', async () => {
    await box.mustRun('sed', '-i', 's/^START_SETTLE_SEC=.*/START_SETTLE_SEC=0.4/', '/etc/quantum/ess.conf');
    // the runbook's paths, added by the operator with the package's installer, survive the upgrade
    await box.mustRun('install', '-d', '-m', '0755', '/opt/qt');
    await box.mustRun('/usr/share/quantum-ess/deploy/install.sh', '--runbook-root', '/opt/qt');
    // samples of the two path units that are the switch, for as long as the upgrade runs
    await box.sh(`rm -f /root/samples /root/stop; (while [ ! -e /root/stop ]; do
        echo "$(date +%s%N) $(systemctl show -P ActiveState quantum-ess.path quantum-ess-trip.path | tr '\\n' ' ')"
      done > /root/samples) >/dev/null 2>&1 & sleep 0.3`);
    const up = await aptInstall(NEWER);
    await box.sh('touch /root/stop; sleep 0.3');
    expect(up.exitCode, up.out).toBe(0);
    expect(await installedVersion()).toBe(`install ok installed ${version}+1`);
    expect(up.out).toContain('verdict:  armed');
    // the newer exporter is the one installed (and below the one serving); the newer root side is installed
    expect(await box.mustRun('quantum-ess-exporter', '--version')).toMatch(new RegExp(`^quantum-ess-exporter ${version.replaceAll('.', '\\.')}\\+1 \\(`));
    expect((await box.mustRun('tail', '-n', '1', `/usr/lib/quantum-ess/${MARKED_LIB}`)).trim()).toBe(`# quantum-ess ${version}+1`);
    expect((await box.mustRun('grep', '^START_SETTLE_SEC=', '/etc/quantum/ess.conf')).trim()).toBe('START_SETTLE_SEC=0.4');
    expect((await box.mustRun('grep', '^START_SETTLE_SEC=', '/usr/lib/quantum-ess/ess.conf.installed')).trim()).toBe('START_SETTLE_SEC=0.4');

    const samples = (await box.readFile('/root/samples')).trim().split('\n').map((line) => {
      const [ns, ...states] = line.trim().split(/\s+/);
      return { ms: Number(ns) / 1e6, armed: states.length === 2 && states.every((s) => s === 'active') };
    });
    let longestGapMs = 0;
    let longestStepMs = 0;
    let unarmedSince: number | null = null;
    for (let i = 0; i < samples.length; i += 1) {
      const s = samples[i]!;
      if (i > 0) longestStepMs = Math.max(longestStepMs, s.ms - samples[i - 1]!.ms);
      if (!s.armed && unarmedSince === null) unarmedSince = s.ms;
      if (s.armed && unarmedSince !== null) {
        longestGapMs = Math.max(longestGapMs, s.ms - unarmedSince);
        unarmedSince = null;
      }
    }
    console.log(`upgrade while armed: ${samples.length} samples, longest step ${longestStepMs.toFixed(0)} ms, longest unarmed ${longestGapMs.toFixed(0)} ms`);
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => !s.armed)).toEqual([]);
    expect((await box.readFile('/usr/lib/quantum-ess/runbook-root')).trim()).toBe('/opt/qt');
    expect(await box.mustRun('bash', '/opt/qt/ops/ess_controller.sh', 'status')).toContain('verdict:  armed');
    // and it trips after the upgrade
    await box.mustRun('touch', FLAG);
    await expectLatched();
    await release();
    const text = await box.scrape();
    expect(metricValue(text, 'ess_verdict{verdict="armed"}')).toBe(1);
    expect(metricValue(text, `ess_build_info{version="${version}+1",nodejs_version="${process.version}"}`)).toBe(1);
  });

  it('an older build, a corrupted newer build or one for another architecture leaves the upgraded host as it was: same version, same exporter serving, armed', async () => {
    const exporterPid = await box.show('quantum-ess-exporter.service', 'MainPID');
    const unchanged = async (what: string): Promise<void> => {
      expect(await installedVersion(), what).toBe(`install ok installed ${version}+1`);
      expect(await box.mustRun('quantum-ess-exporter', '--version'), what).toMatch(new RegExp(`^quantum-ess-exporter ${version.replaceAll('.', '\\.')}\\+1 \\(`));
      expect((await box.mustRun('tail', '-n', '1', `/usr/lib/quantum-ess/${MARKED_LIB}`)).trim(), what).toBe(`# quantum-ess ${version}+1`);
      expect(await box.show('quantum-ess-exporter.service', 'MainPID'), what).toBe(exporterPid);
      expect(await box.mustRun(CTL, 'status'), what).toContain('verdict:  armed');
      expect(metricValue(await box.scrape(), `ess_build_info{version="${version}+1",nodejs_version="${process.version}"}`), what).toBe(1);
    };
    // apt-get -y never downgrades on its own
    const older = await aptInstall(deb);
    expect(older.exitCode, older.out).not.toBe(0);
    expect(older.out).toContain('--allow-downgrades');
    await unchanged('older build through apt-get');

    // a newer build whose data is damaged past its control part: dpkg runs the maintainer scripts,
    // then fails unpacking; it must leave the installed files and the armed switch as they were
    const damaged = '/root/quantum-ess-damaged.deb';
    await execa('bash', [path.join(REPO, 'test/integration/newer-package.sh'), hostDeb, `${version}+2`, path.join(root, damaged)]);
    await box.mustRun('bash', '-c', `size=$(stat -c %s ${damaged}); dd if=/dev/zero of=${damaged} bs=1 seek=$((size * 3 / 4)) count=65536 conv=notrunc status=none`);
    const bad = await box.sh(`dpkg -i ${damaged} 2>&1`);
    expect(bad.exitCode, bad.stdout).not.toBe(0);
    await unchanged('damaged newer build');

    const foreign = '/root/quantum-ess-foreign.deb';
    await box.mustRun('bash', '-c', `set -e; rm -rf /root/foreign; dpkg-deb -R ${NEWER} /root/foreign
      sed -i -e 's/^Architecture: .*/Architecture: s390x/' -e 's/^Version: .*/Version: ${version}+3/' /root/foreign/DEBIAN/control
      dpkg-deb --root-owner-group -Zgzip -z1 -b /root/foreign ${foreign} >/dev/null`);
    const arch = await box.sh(`dpkg -i ${foreign} 2>&1`);
    expect(arch.exitCode, arch.stdout).not.toBe(0);
    expect(arch.stdout).toContain('does not match system');
    await unchanged('build for another architecture');
    // and the switch still trips
    await box.mustRun('touch', FLAG);
    await expectLatched();
    await release();
  });

  it('a trip while the removal waits for the ESS lock: the removal is refused, the latch and its drop-ins stay', async () => {
    // the lock held (as by an activation recording itself) while dpkg's removal starts: it passes
    // prerm's first check, then waits in install.sh uninstall; the trip comes meanwhile
    await box.sh('rm -f /root/dpkg-r.out; (flock /run/quantum-ess/ess.lock sh -c "touch /root/locked; sleep 4") >/dev/null 2>&1 &');
    await waitForFile('/root/locked', true);
    await box.sh('(dpkg -r quantum-ess > /root/dpkg-r.out 2>&1; echo "rc=$?" >> /root/dpkg-r.out) >/dev/null 2>&1 &');
    await box.sh('for i in $(seq 200); do pgrep -f "install.sh uninstall" >/dev/null && exit 0; sleep 0.05; done; exit 1');
    await box.mustRun('touch', FLAG);
    await box.sh('for i in $(seq 600); do grep -q "^rc=" /root/dpkg-r.out && exit 0; sleep 0.1; done; exit 1');
    const out = await box.readFile('/root/dpkg-r.out');
    expect(out).not.toContain('rc=0');
    expect(out).toContain('sudo ess_controller.sh deactivate');
    // still installed (dpkg -r leaves the selection at deinstall; the package's status is what counts)
    expect(await installedVersion()).toMatch(/ ok installed /);
    expect(await installedVersion()).toContain(`${version}+1`);
    expect(await box.exists(FLAG)).toBe(true);
    await expectLatched();
    for (const u of TRADING) expect(await box.exists(`/etc/systemd/system/${u}.d/50-quantum-ess-latch.conf`)).toBe(true);
    expect(await box.show('quantum-ess.path', 'ActiveState')).toBe('active');
    await box.mustRun('rm', '-f', '/root/locked');
    await release();
  });

  it('remove keeps configuration, state and audit trail; purge removes the configuration and says what it kept', async () => {
    const rm = await box.sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y quantum-ess 2>&1');
    expect(rm.exitCode, rm.stdout).toBe(0);
    expect(rm.stdout).toContain('install: kept: /etc/quantum/ess.conf');
    expect(await box.exists('/etc/systemd/system/quantum-ess.path')).toBe(false);
    for (const u of TRADING) expect(await box.exists(`/etc/systemd/system/${u}.d/50-quantum-ess-latch.conf`)).toBe(false);
    expect(await box.exists('/usr/lib/quantum-ess')).toBe(false);
    expect(await box.exists('/usr/sbin/ess_controller.sh')).toBe(false);
    expect(await box.show('quantum-ess-exporter.service', 'LoadState')).toBe('not-found');
    // the trading units were never touched by the removal
    expect(Object.values(await box.activeStates([...TRADING])).every((s) => s === 'active')).toBe(true);
    for (const kept of ['/etc/quantum/ess.conf', '/etc/quantum/ess-exporter.json', '/etc/quantum/ess-webhook.token', '/var/lib/quantum-ess/state.json', '/var/log/quantum-ess/audit.jsonl']) {
      expect(await box.exists(kept), kept).toBe(true);
    }

    const purge = await box.sh('dpkg --purge quantum-ess 2>&1');
    expect(purge.exitCode, purge.stdout).toBe(0);
    expect(purge.stdout).toContain('quantum-ess: purged the configuration');
    expect(purge.stdout).toContain('Kept, as the record of every stop');
    expect(await box.exists('/etc/quantum')).toBe(false);
    expect(await box.exists('/var/lib/quantum-ess/state.json')).toBe(true);
    expect(await box.exists('/var/log/quantum-ess/audit.jsonl')).toBe(true);
    expect(await installedVersion()).not.toMatch(/ok installed/);
    expect(await box.exists(LATCHED)).toBe(false);
  });
});
