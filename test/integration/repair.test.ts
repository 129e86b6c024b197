// `ess_controller.sh rearm` on real systemd: a switch broken in each way of issue 18 while the ESS is
// active is repaired from the installer's copy of the units under the latch: the latch stays, no
// trading unit starts, the verdict comes back, and a trip by touch works afterwards.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, LATCHED, Sandbox, TRADING } from '../../sandbox/sandbox.js';

let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-repair');
});
afterAll(async () => {
  await box?.shutdown();
});
beforeEach(async () => {
  await box.reset();
});

const UNIT_DIR = '/etc/systemd/system';
const BREAKS: readonly (readonly [string, string])[] = [
  ['the template copied over quantum-ess.path', `cp /opt/quantum-ess-src/deploy/systemd/quantum-ess.path ${UNIT_DIR}/`],
  [
    'a drop-in making quantum-ess.path watch another path',
    `mkdir -p ${UNIT_DIR}/quantum-ess.path.d && printf '[Path]\\nPathExists=\\nPathExists=/run/elsewhere\\n' > ${UNIT_DIR}/quantum-ess.path.d/override.conf`,
  ],
  [
    "a drop-in with ExecStart=/bin/true on the trigger",
    `mkdir -p ${UNIT_DIR}/quantum-ess-trigger.service.d && printf '[Service]\\nExecStart=\\nExecStart=/bin/true\\n' > ${UNIT_DIR}/quantum-ess-trigger.service.d/override.conf`,
  ],
  ['quantum-ess-trigger.service masked (runtime)', 'systemctl mask --runtime quantum-ess-trigger.service'],
  ['quantum-ess.path masked in /etc', `ln -sfn /dev/null ${UNIT_DIR}/quantum-ess.path`],
];

/** When each trading unit last became active: unchanged means nothing started it. */
async function activeSince(): Promise<string[]> {
  return Promise.all(TRADING.map((u) => box.show(u, 'ActiveEnterTimestampMonotonic')));
}

async function expectTouchTrips(): Promise<void> {
  await box.mustRun('touch', FLAG);
  const states = await box.waitFor(TRADING, ['inactive', 'failed'], 10_000);
  for (const unit of TRADING) expect(states[unit], unit).toMatch(/inactive|failed/);
  // the stop comes first; the latch is persisted and recorded once the trigger's run is done
  await box.sh('while [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" = activating ]; do sleep 0.05; done');
  expect((await box.ess('status')).exitCode).toBe(3);
}

describe('ess_controller.sh rearm', () => {
  it.each(BREAKS)('repairs %s while latched, never starting a trading unit', async (_what, breakIt) => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'incident');
    await box.mustRun('bash', '-c', `${breakIt} && systemctl daemon-reload`);
    const since = await activeSince();
    const r = await box.ess('rearm');
    expect(r.stdout).toMatch(/^repaired: (restored|moved aside) /m);
    expect(r.stdout).toMatch(/switch re-armed: .* verdict active/);
    expect(r.exitCode).toBe(0);
    // the latch stayed, nothing started, the verdict is back
    expect(await box.exists(FLAG)).toBe(true);
    expect(await box.exists(LATCHED)).toBe(true);
    expect(await activeSince()).toEqual(since);
    expect((await box.ess('status')).exitCode).toBe(3);
    // resume, then the runbook's touch trips again
    expect((await box.ess('deactivate', '--reason', 'repaired')).exitCode).toBe(0);
    expect((await box.ess('status')).exitCode).toBe(0);
    await expectTouchTrips();
  });

  it('repairs every break at once, and re-verifies a latch set while the trigger was broken', async () => {
    await box.mustRun('bash', '-c', `${BREAKS.slice(0, 3).map(([, b]) => b).join(' && ')} && systemctl mask --runtime quantum-ess.service && systemctl daemon-reload`);
    // the runbook's touch with the trigger broken: latched, but trading still runs
    await box.mustRun('touch', FLAG);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await box.activeStates(TRADING))[TRADING[0]]).toBe('active');
    const r = await box.ess('rearm');
    expect(r.stdout).toContain(`moved aside /run/systemd/system/quantum-ess.service`);
    expect(r.exitCode).toBe(0);
    // the repaired trigger re-verified the latch: every trading unit stopped, none started
    const states = await box.activeStates(TRADING);
    for (const unit of TRADING) expect(states[unit], unit).toMatch(/inactive|failed/);
    expect((await box.ess('status')).exitCode).toBe(3);
    expect((await box.ess('deactivate', '--reason', 'repaired')).exitCode).toBe(0);
    await expectTouchTrips();
  });

  it('deactivate on a switch it cannot re-arm keeps the latch and names rearm', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'incident');
    await box.mustRun('bash', '-c', `ln -sfn /dev/null ${UNIT_DIR}/quantum-ess-trip.path && systemctl daemon-reload`);
    const refused = await box.ess('deactivate', '--reason', 'too early');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('Repair it under the latch with: sudo ess_controller.sh rearm; then deactivate again');
    expect(await box.exists(FLAG)).toBe(true);
    expect((await box.ess('rearm')).exitCode).toBe(0);
    expect((await box.ess('deactivate', '--reason', 'repaired')).exitCode).toBe(0);
    await expectTouchTrips();
  });

  it('is refused for a non-root user, and a kill -9 half-way leaves it repairable', async () => {
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'incident');
    await box.mustRun('bash', '-c', `${BREAKS[0]?.[1] ?? ''} && ${BREAKS[2]?.[1] ?? ''} && systemctl daemon-reload`);
    const since = await activeSince();
    // kill -9 at a random instant of the repair, three times; the latch never moves, then it completes
    for (const ms of [5, 40, 120]) {
      await box.sh(`/usr/local/sbin/ess_controller.sh rearm >/dev/null 2>&1 & p=$!; sleep 0.${String(ms).padStart(3, '0')}; kill -9 $p; wait $p; true`);
      expect(await box.exists(FLAG)).toBe(true);
      expect(await box.exists(LATCHED)).toBe(true);
    }
    expect(await activeSince()).toEqual(since);
    // PID 1 may still be busy with a killed run's daemon-reload (each systemctl call is bounded by 5 s):
    // rearm then fails naming what is left, and running it again must repair it
    let rearm = await box.ess('rearm');
    for (let tries = 1; rearm.exitCode !== 0 && tries < 3; tries += 1) rearm = await box.ess('rearm');
    expect(rearm.exitCode, rearm.stderr).toBe(0);
    expect((await box.ess('status')).exitCode).toBe(3);
    const asNobody = await box.run('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/local/sbin/ess_controller.sh', 'rearm');
    expect(asNobody.exitCode).toBe(77);
  });
});

// The runbook's Initial Setup copies the repository's unit templates into /etc/systemd/system: two
// triggers then never fire. What the operator reads must lead out of it: a way to stop trading now,
// before the repair; each FAIL of the drill with its cause and fix; and activate's figure labelled
// from the command, not from the touch the broken path unit never saw.
describe("the runbook's cp of the unit templates", () => {
  const copyTemplates = `cp /opt/quantum-ess-src/deploy/systemd/quantum-ess.* ${UNIT_DIR}/ && systemctl daemon-reload`;

  it('status says how to stop trading now, then rearm; the drill names the cause and the fix on every FAIL', async () => {
    await box.mustRun('bash', '-c', copyTemplates);
    const st = await box.ess('status');
    expect(st.exitCode).toBe(5);
    const stopAt = st.stdout.indexOf('STOP NOW: sudo ess_controller.sh activate --reason "..."');
    const fixAt = st.stdout.indexOf('FIX:      quantum-ess.path is not loaded as installed (LoadState expected');
    expect(stopAt).toBeGreaterThan(0);
    expect(fixAt).toBeGreaterThan(stopAt);
    expect(st.stdout).toMatch(/FIX: .*fix: sudo ess_controller\.sh rearm\n/);
    const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
    const fails = drill.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
    expect(fails.length).toBeGreaterThan(0);
    expect(drill.stdout).toMatch(/FAIL switch armed\s+quantum-ess\.path is not loaded as installed \(LoadState expected 'loaded', found 'bad-setting'\).*fix: sudo ess_controller\.sh rearm/);
    for (const line of fails) {
      expect(line).not.toMatch(/the switch is armed/);
      expect(line).toMatch(/fix: sudo /);
    }
    expect((await box.ess('rearm')).exitCode).toBe(0);
    expect((await box.ess('status')).exitCode).toBe(0);
  });

  it("activate after a touch the broken path unit never saw labels its figure from the command", async () => {
    await box.mustRun('bash', '-c', copyTemplates);
    await box.mustRun('touch', FLAG);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await box.activeStates(TRADING))[TRADING[0]]).toBe('active');
    const r = await box.ess('activate', '--reason', 'the touch did nothing');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/all trading units stopped [0-9.]+ s after this command \(the flag \/run\/quantum\/ESS_ON had been there [0-9.]+ s before it: the touch trigger did not fire; repair it: sudo ess_controller\.sh rearm\)/);
    expect(r.stdout).not.toMatch(/stopped in [0-9.]+ s/);
    expect((await box.ess('rearm')).exitCode).toBe(0);
    expect((await box.ess('status')).exitCode).toBe(3);
  });
});
