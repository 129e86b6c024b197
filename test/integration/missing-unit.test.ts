// A trading unit name in TRADING_UNITS that systemd does not have (a typo: quantum-executon for
// quantum-execution), on real systemd: the installer refuses it unless told to stage a host, the
// verdict is not-armed on every surface naming the unit and the nearest existing one, activate never
// says "all trading units stopped" while the real unit keeps running, the drill FAILs with the fix,
// and the way back (deactivate, an interrupted resume) never loops on a unit that cannot be started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, LATCHED, Sandbox } from '../../sandbox/sandbox.js';

const INSTALL = '/opt/quantum-ess-src/deploy/install.sh';
const CONF = '/etc/quantum/ess.conf';
const TYPO = 'quantum-executon.service';
const REAL = 'quantum-execution.service';
const EXISTING = ['quantum-ai-engine.service', 'quantum-apply-layer.service', 'quantum-governor.service'];

let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-missing-unit');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

/** TRADING_UNITS and START_ORDER with the typo, as an operator would mistype both. */
async function mistype(): Promise<void> {
  await box.mustRun('sed', '-i', 's/quantum-execution/quantum-executon/g', CONF);
}

async function exporterVerdict(wanted: string): Promise<string> {
  let body = '';
  for (let i = 0; i < 50; i++) {
    body = await box.scrape();
    if (body.includes(`ess_verdict{verdict="${wanted}"} 1`)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return body;
}

describe('a trading unit that does not exist', () => {
  it('is refused by the installer (78) naming the key, the unit and the nearest name; nothing changed', async () => {
    await mistype();
    const r = await box.run('bash', INSTALL);
    expect(r.exitCode).toBe(78);
    expect(r.stderr).toContain(`TRADING_UNITS in ${CONF}`);
    expect(r.stderr).toContain(`${TYPO} (LoadState not-found; did you mean ${REAL}?)`);
    expect(r.stderr).toContain('Nothing was changed');
    expect(r.stderr).toContain('--allow-missing-units');
    expect(await box.exists(`/etc/systemd/system/${TYPO}.d`)).toBe(false);
    // the install in force is untouched: still armed on the old list
    expect((await box.ess('status')).exitCode).toBe(0);
  });

  it('with --allow-missing-units installs, and every surface says not-armed with the unit and the fix', async () => {
    const r = await box.run('bash', INSTALL, '--allow-missing-units');
    expect(r.stdout + r.stderr).toContain(`installing anyway (--allow-missing-units): the ESS stays NOT ARMED`);
    expect(r.exitCode).toBe(0);
    const st = await box.ess('status');
    expect(st.exitCode).toBe(5);
    expect(st.stdout).toContain('verdict:  NOT ARMED');
    expect(st.stdout).toContain(`PROBLEM:  ${TYPO}: LoadState not-found: TRADING_UNITS names a unit systemd has not loaded`);
    expect(st.stdout).toContain(`(did you mean ${REAL}?)`);
    expect(st.stdout).toMatch(/STOP NOW: sudo ess_controller\.sh activate --reason "\.\.\."/);
    expect(st.stdout).toContain(`FIX:      TRADING_UNITS names ${TYPO}`);
    expect(st.stdout).toContain(`fix: sudoedit ${CONF} (TRADING_UNITS), then sudo `);
    const json = JSON.parse((await box.ess('status', '--json')).stdout) as { verdict: string; armed: boolean };
    expect(json).toMatchObject({ verdict: 'not-armed', armed: false });
    expect(await exporterVerdict('not-armed')).toMatch(/^ess_verdict\{verdict="not-armed"\} 1$/m);
    expect(await exporterVerdict('not-armed')).toMatch(/^ess_switch_armed 0$/m);
  });

  it('FAILs the dry-run and the full drill with the cause and the fix', async () => {
    for (const args of [['--dry-run'], []]) {
      const r = await box.run('/usr/local/sbin/proof_ess.sh', ...args);
      const out = r.stdout + r.stderr;
      expect(out, args.join(' ')).toMatch(new RegExp(`FAIL switch armed\\s+TRADING_UNITS names ${TYPO}, which systemd has not loaded \\(LoadState not-found\\): no trigger stops it; did you mean ${REAL}\\?; fix: sudoedit ${CONF} \\(TRADING_UNITS\\), then sudo `));
      expect(out).toMatch(new RegExp(`FAIL latch applied by systemd\\s+not applied on ${TYPO}=LoadState:not-found`));
      expect(out).not.toContain('the switch is armed');
      expect(out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
    }
  });

  it('activate names what it stopped, what does not exist and the real unit still running', async () => {
    expect((await box.activeStates([REAL]))[REAL]).toBe('active');
    const r = await box.ess('activate', '--reason', 'typo test');
    expect(r.stdout).not.toContain('all trading units stopped');
    expect(r.stdout).toContain(`the trading units that exist (${EXISTING.join(' ')}) stopped in `);
    expect(r.stdout).toContain('result degraded');
    expect(r.stderr).toContain(`NOT FOUND: ${TYPO} does not exist on this host`);
    expect(r.stderr).toContain(`did you mean ${REAL}? It was NOT stopped; if it trades, stop it now: sudo systemctl stop ${REAL}`);
    expect(r.exitCode).toBe(0);
    // the real unit indeed still runs: the ESS never knew it
    expect((await box.activeStates([REAL]))[REAL]).toBe('active');
    const st = await box.ess('status');
    expect(st.exitCode).toBe(3);
    expect(st.stdout).toContain(`the ESS did not stop ${REAL}; if it trades, stop it now: sudo systemctl stop ${REAL}`);
    expect(st.stdout).toContain('then once deactivated, re-run the installer');
  });

  it('deactivate resumes the units that exist and skips the missing one: no loop, no latch kept', async () => {
    const r = await box.ess('deactivate', '--reason', 'typo test over');
    expect(r.stdout).toContain(`skipped ${TYPO}`);
    expect(r.stdout).toContain(`not started (not loaded by systemd): ${TYPO}`);
    expect(r.stderr).toContain(`WARNING: ${TYPO} does not exist`);
    expect(r.exitCode).toBe(0);
    expect(await box.exists(FLAG)).toBe(false);
    expect(await box.exists(LATCHED)).toBe(false);
    expect(await box.exists('/run/quantum-ess/resume-pending')).toBe(false);
    const states = await box.activeStates(EXISTING);
    for (const unit of EXISTING) expect(states[unit], unit).toBe('active');
    // not armed (the typo stands), but not a resume to finish either
    expect((await box.ess('status')).exitCode).toBe(5);
  });

  it('finishes a resume left pending on the missing unit (the loop of an earlier version)', async () => {
    await box.mustRun('systemctl', 'stop', 'quantum-governor.service');
    await box.sh(`printf '%s\\n' '${TYPO} quantum-governor.service' > /run/quantum-ess/resume-pending`);
    expect((await box.ess('status')).exitCode).toBe(8);
    const r = await box.ess('deactivate', '--reason', 'finish it');
    expect(r.stdout).toContain('interrupted resume finished');
    expect(r.exitCode).toBe(0);
    expect((await box.activeStates(['quantum-governor.service']))['quantum-governor.service']).toBe('active');
    expect(await box.exists('/run/quantum-ess/resume-pending')).toBe(false);
    expect((await box.ess('status')).exitCode).toBe(5);
  });

  it('is armed again once TRADING_UNITS is fixed and the installer re-run', async () => {
    await box.mustRun('sed', '-i', 's/quantum-executon/quantum-execution/g', CONF);
    await box.mustRun('bash', INSTALL);
    expect((await box.ess('status')).exitCode).toBe(0);
    expect(await exporterVerdict('armed')).toMatch(/^ess_verdict\{verdict="armed"\} 1$/m);
  });

  it('a trading unit whose own unit file does not load (bad-setting) is named with that fix, not TRADING_UNITS', async () => {
    const unit = 'quantum-governor.service';
    const dropIn = `/etc/systemd/system/${unit}.d/90-bad.conf`;
    // systemd refuses Restart=always on a oneshot service: the unit exists, its file does not load
    await box.sh(`mkdir -p /etc/systemd/system/${unit}.d && printf '[Service]\\nType=oneshot\\nRestart=always\\n' > ${dropIn} && systemctl daemon-reload`);
    try {
      expect((await box.run('systemctl', 'show', '-P', 'LoadState', unit)).stdout.trim()).toBe('bad-setting');
      const fix = `its unit file does not load (LoadState bad-setting); fix the unit file (sudo systemctl status ${unit} says why), then sudo systemctl daemon-reload`;
      const st = await box.ess('status');
      expect(st.exitCode).toBe(5);
      expect(st.stdout).toContain(`${unit}: no trigger stops or latches it: ${fix}`);
      expect(st.stdout).not.toContain(`TRADING_UNITS names ${unit}`);
      await box.ess('activate', '--reason', 'bad unit file');
      const r = await box.ess('deactivate', '--reason', 'bad unit file over');
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toContain(`WARNING: ${unit} not started: ${fix}`);
      expect(r.stderr).not.toContain('does not exist');
      expect(r.stdout).toContain(`not started (not loaded by systemd): ${unit}`);
    } finally {
      await box.sh(`rm -f ${dropIn} && systemctl daemon-reload && systemctl start ${unit}`);
    }
  });
});
