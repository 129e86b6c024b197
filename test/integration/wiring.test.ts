// The switch's wiring on real systemd (contract/README.md section 1): each way of breaking a trigger
// while systemd keeps its units "active" makes status, the exporter and the dry-run drill say so, and
// re-running the installer repairs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, metricValue, Sandbox } from '../../sandbox/sandbox.js';

let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-wiring');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

interface StatusJson {
  verdict: string;
  wiring: { unit: string; property: string }[];
  state: unknown;
}

async function status(): Promise<{ code: number; json: StatusJson }> {
  const r = await box.run('/usr/local/sbin/ess_controller.sh', 'status', '--json');
  return { code: r.exitCode, json: JSON.parse(r.stdout) as StatusJson };
}

/** The exporter's ess_switch_armed once it has followed the reload (signals: within a second or two). */
async function exporterArmed(wanted: number): Promise<number | undefined> {
  let value: number | undefined;
  for (let i = 0; i < 50; i++) {
    value = metricValue(await box.scrape(), 'ess_switch_armed');
    if (value === wanted) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return value;
}

const TEMPLATE = '/opt/quantum-ess-src/deploy/systemd/quantum-ess.path';
const CASES: readonly (readonly [string, string, string, string])[] = [
  ['the runbook cp of the template over the path unit (bad-setting)', `cp ${TEMPLATE} /etc/systemd/system/`, 'quantum-ess.path', 'LoadState'],
  ['a drop-in making the path unit watch another path', dropIn('/etc', 'quantum-ess.path', '[Path]\\nPathExists=\\nPathExists=/tmp/other\\n'), 'quantum-ess.path', 'DropInPaths'],
  ["a drop-in replacing the trigger's ExecStart with /bin/true", dropIn('/etc', 'quantum-ess-trigger.service', '[Service]\\nExecStart=\\nExecStart=/bin/true\\n'), 'quantum-ess-trigger.service', 'DropInPaths'],
  ['a runtime drop-in adding a Condition (systemctl edit --runtime)', dropIn('/run', 'quantum-ess.path', '[Unit]\\nConditionPathExists=/nonexistent\\n'), 'quantum-ess.path', 'DropInPaths'],
  ['a drop-in changing Unit= of the trip path unit', dropIn('/etc', 'quantum-ess-trip.path', '[Path]\\nUnit=quantum-ess-guard.service\\n'), 'quantum-ess-trip.path', 'DropInPaths'],
  ['a drop-in with User= on the trip service', dropIn('/run', 'quantum-ess-trip.service', '[Service]\\nUser=nobody\\n'), 'quantum-ess-trip.service', 'DropInPaths'],
  ['a TriggerLimit on the guard', dropIn('/etc', 'quantum-ess-guard.path', '[Path]\\nTriggerLimitBurst=1\\nTriggerLimitIntervalSec=1h\\n'), 'quantum-ess-guard.path', 'DropInPaths'],
  ['the trigger service alone masked (above /etc)', 'mkdir -p /etc/systemd/system.control && ln -sf /dev/null /etc/systemd/system.control/quantum-ess-trigger.service', 'quantum-ess-trigger.service', 'LoadState'],
  ['the path unit edited in place to watch another path', `sed -i 's|^PathExists=.*|PathExists=/run/quantum/OTHER|' /etc/systemd/system/quantum-ess.path`, 'quantum-ess.path', 'Paths'],
  ['another unit enabled with RequiredBy=quantum-ess-trip.service, no drop-in on it', `${blocker('quantum-ess-trip.service')} && systemctl enable blocker.service`, 'quantum-ess-trip.service', 'Requires'],
];

/** A unit that fails whenever it starts, installed to be required by UNIT (systemctl enable links it into UNIT.requires/). */
function blocker(unit: string): string {
  return `printf '[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\nRequiredBy=${unit}\\n' > /etc/systemd/system/blocker.service`;
}

function dropIn(root: '/etc' | '/run', unit: string, body: string): string {
  return `mkdir -p ${root}/systemd/system/${unit}.d && printf '${body}' > ${root}/systemd/system/${unit}.d/zz-test.conf`;
}

describe('the switch as installed', () => {
  it('is armed after the install, on status and the exporter alike', async () => {
    const s = await status();
    expect(s.code).toBe(0);
    expect(s.json.wiring).toEqual([]);
    expect(await exporterArmed(1)).toBe(1);
  });

  it.each(CASES)('%s: not armed everywhere, named; the installer repairs it', async (_what, breakIt, unit, property) => {
    await box.sh(`${breakIt} && systemctl daemon-reload`);
    const s = await status();
    expect(s.code, JSON.stringify(s.json)).toBe(5);
    expect(s.json.verdict).toBe('not-armed');
    expect(s.json.wiring).toContainEqual(expect.objectContaining({ unit, property }));
    expect(await exporterArmed(0)).toBe(0);
    const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
    expect(drill.exitCode).toBe(1);
    expect(drill.stdout).toContain('SUMMARY: FAIL');

    await box.mustRun('bash', '/opt/quantum-ess-src/deploy/install.sh');
    const after = await status();
    expect(after.code, JSON.stringify(after.json)).toBe(0);
    expect(await exporterArmed(1)).toBe(1);
  });

  it('another unit required by and ordered before quantum-ess.service fails its start: not armed, named with each fix; rearm moves the link aside', async () => {
    // no drop-in on quantum-ess.service: the unit's own file orders it first, and `enable` links it into quantum-ess.service.requires/
    await box.sh(
      "printf '[Unit]\\nBefore=quantum-ess.service\\n[Service]\\nType=oneshot\\nExecStart=/bin/false\\n[Install]\\nRequiredBy=quantum-ess.service\\n' > /etc/systemd/system/blocker.service && systemctl enable blocker.service && systemctl daemon-reload",
    );
    const s = await status();
    expect(s.json.verdict, JSON.stringify(s.json)).toBe('not-armed');
    expect(s.json.wiring).toContainEqual(expect.objectContaining({ unit: 'quantum-ess.service', property: 'Requires' }));
    expect(s.json.wiring).toContainEqual(expect.objectContaining({ unit: 'quantum-ess.service', property: 'After' }));
    const text = (await box.run('/usr/local/sbin/ess_controller.sh', 'status')).stdout;
    expect(text).toMatch(/quantum-ess\.service: wiring differs from the installed one: Requires expected '[^']*' found '[^']*blocker\.service[^']*' \(run: sudo ess_controller\.sh rearm\)/);
    expect(text).toContain("(a Before=quantum-ess.service in another unit's file: remove it there)");
    expect(await exporterArmed(0)).toBe(0);
    // what the verdict says is real: the start fails with its dependency, and nothing is stopped
    const start = await box.run('systemctl', 'start', 'quantum-ess.service');
    expect(start.exitCode).not.toBe(0);
    expect(start.stderr).toContain('dependency');
    expect(await box.exists(FLAG)).toBe(false);
    expect((await status()).json.state).toMatchObject({ active: false });

    const rearm = await box.run('/usr/local/sbin/ess_controller.sh', 'rearm');
    expect(rearm.stdout + rearm.stderr).toContain('quantum-ess.service.requires/blocker.service');
    // the ordering is the other unit's own line: still named until it is removed there
    const ordered = await status();
    expect(ordered.json.wiring.map((w) => w.property)).toEqual(['After']);
    await box.sh('rm -f /etc/systemd/system/blocker.service && systemctl reset-failed blocker.service; systemctl daemon-reload');
    const after = await status();
    expect(after.code, JSON.stringify(after.json)).toBe(0);
    expect(await exporterArmed(1)).toBe(1);
  });

  it("another unit's Conflicts= holds a start while that unit's stop hangs: not armed, named; the installer names it and never records it", async () => {
    await box.sh(
      "printf '[Unit]\\nConflicts=quantum-ess-trip.service\\n[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/conflicting.service && systemctl daemon-reload && systemctl start conflicting.service",
    );
    try {
      const s = await status();
      expect(s.json.verdict, JSON.stringify(s.json)).toBe('not-armed');
      expect(s.json.wiring).toContainEqual(expect.objectContaining({ unit: 'quantum-ess-trip.service', property: 'ConflictedBy' }));
      expect((await box.run('/usr/local/sbin/ess_controller.sh', 'status')).stdout).toContain("(a Conflicts=quantum-ess-trip.service in another unit's file: remove it there)");
      // the installer places everything, names the unit, does not record it, and says the switch is not armed
      const install = await box.run('bash', '/opt/quantum-ess-src/deploy/install.sh');
      expect(install.exitCode).toBe(1);
      expect(install.stdout).toContain("WARNING: quantum-ess-trip.service has ConflictedBy=conflicting.service, which is not the ESS's");
      expect(install.stdout + install.stderr).toContain('the switch is not armed after placing the units');
      expect((await status()).json.verdict).toBe('not-armed');
      expect(await exporterArmed(0)).toBe(0);
    } finally {
      await box.sh('systemctl stop conflicting.service; rm -f /etc/systemd/system/conflicting.service; systemctl daemon-reload');
    }
    const after = await status();
    expect(after.code, JSON.stringify(after.json)).toBe(0);
    expect(await exporterArmed(1)).toBe(1);
  });

  it("the ESS's own timers disabled and enabled again change no compared dependency (a timer cannot hold a start)", async () => {
    await box.sh('systemctl disable --now quantum-ess-guard.timer quantum-ess-trip-sweep.timer');
    try {
      expect((await status()).json.wiring).toEqual([]);
      expect(await exporterArmed(1)).toBe(1);
    } finally {
      await box.sh('systemctl enable --now quantum-ess-guard.timer quantum-ess-trip-sweep.timer');
    }
    expect((await status()).code).toBe(0);
  });

  it('a redirected flag directory: status and the exporter both say tampered while latched', async () => {
    await box.sh('systemctl stop quantum-ess-guard.path quantum-ess-guard.timer; mkdir -p /tmp/q && rm -rf /run/quantum && ln -s /tmp/q /run/quantum && touch /tmp/q/ESS_ON && touch /var/lib/quantum-ess/latched');
    try {
      const s = await status();
      expect(s.json.verdict).toBe('tampered');
      let exporterVerdict: number | undefined;
      for (let i = 0; i < 25 && exporterVerdict !== 1; i++) {
        exporterVerdict = metricValue(await box.scrape(), 'ess_verdict{verdict="tampered"}');
        if (exporterVerdict !== 1) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(exporterVerdict).toBe(1);
    } finally {
      await box.sh('rm -f /run/quantum /var/lib/quantum-ess/latched && mkdir -p /run/quantum && systemctl start quantum-ess-guard.path quantum-ess-guard.timer');
    }
  });
});
