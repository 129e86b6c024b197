// The switch's wiring on real systemd (contract/README.md section 1): each way of breaking a trigger
// while systemd keeps its units "active" makes status, the exporter and the dry-run drill say so, and
// re-running the installer repairs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, Sandbox } from '../../sandbox/sandbox.js';

let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-wiring');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

async function status(): Promise<{ code: number; json: { verdict: string; wiring: { unit: string; property: string }[] } }> {
  const r = await box.run('/usr/local/sbin/ess_controller.sh', 'status', '--json');
  return { code: r.exitCode, json: JSON.parse(r.stdout) as { verdict: string; wiring: { unit: string; property: string }[] } };
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
];

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
