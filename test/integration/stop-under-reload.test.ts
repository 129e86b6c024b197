// The stop while PID 1 is busy reloading, on REAL systemd: back-to-back daemon-reloads starve
// systemd's job queue, so a stop job may begin seconds after it was asked for, or not while the
// storm lasts. The record must say what happened to each unit: one that exits on SIGTERM is
// "stopped" (never "killed" because its grace ran out before SIGTERM was sent), one that ignores
// SIGTERM is "killed", and nothing is "not-stopped" that did stop.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MONITOR, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const DOWN = ['inactive', 'failed'];
const RUNS = 8;
const STORM = 'ess-test-reload-storm';
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-reload');
});
afterAll(async () => {
  await box?.shutdown();
});
beforeEach(async () => {
  await box.reset();
});

/** Runs `systemctl daemon-reload` back to back in a transient unit until stormEnd(). */
async function stormStart(): Promise<void> {
  await box.mustRun('systemd-run', `--unit=${STORM}`, '--quiet', 'bash', '-c', 'while :; do systemctl daemon-reload; done');
  // the storm is under way once a reload has happened since it began
  await new Promise((r) => setTimeout(r, 500));
}

/** Ends the storm: `systemctl kill` is answered at once, where a stop job would wait for the queue. */
async function stormEnd(): Promise<void> {
  await box.sh(`systemctl kill --signal=SIGKILL ${STORM}.service; for i in $(seq 100); do systemctl is-active -q ${STORM}.service || break; sleep 0.1; done; systemctl reset-failed ${STORM}.service 2>/dev/null; true`);
}

/** `activate` while the storm lasts. */
async function activateDuringStorm(reason: string): Promise<Awaited<ReturnType<Sandbox['ess']>>> {
  await stormStart();
  try {
    return await box.ess('activate', '--reason', reason);
  } finally {
    await stormEnd();
  }
}

/** The stand-in's own journal lines for UNIT since the wall time SINCE (s): what it did with SIGTERM. */
async function standInSaid(unit: string, since: number, text: string): Promise<boolean> {
  for (let i = 0; i < 25; i++) {
    const r = await box.sh(`journalctl -u ${unit} --since @${since.toFixed(3)} -o cat --no-pager`);
    if (r.stdout.includes(text)) return true;
    await new Promise((res) => setTimeout(res, 200));
  }
  return false;
}

async function sandboxNow(): Promise<number> {
  return Number((await box.mustRun('date', '+%s.%N')).trim());
}

describe('stop while PID 1 is busy reloading', () => {
  it(`${RUNS} activations during a daemon-reload storm: every unit that exits on SIGTERM is recorded stopped`, async () => {
    const wrong: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      if (run > 1) await box.reset();
      const since = await sandboxNow();
      const r = await activateDuringStorm(`reload storm ${run}`);
      const state = await box.stateJson();
      const units = state.last_activation?.units ?? [];
      const records = units.map((u) => `${u.unit}=${u.result}`).join(' ');
      if (r.exitCode !== 0 || state.last_activation?.result !== 'ok' || units.some((u) => u.result !== 'stopped')) {
        wrong.push(`run ${run}: exit ${r.exitCode}, ${state.last_activation?.result}: ${records}`);
      }
      // what the record says is what the units did: each got SIGTERM and exited on it
      for (const unit of TRADING) {
        if (!(await standInSaid(unit, since, 'got SIGTERM, exiting'))) wrong.push(`run ${run}: ${unit} never got SIGTERM`);
      }
      const states = await box.waitFor(TRADING, DOWN, 10000);
      for (const unit of TRADING) expect(DOWN, `run ${run}: ${unit} is ${states[unit]}`).toContain(states[unit]);
    }
    const runs = new Set(wrong.map((w) => w.split(':')[0])).size;
    console.log(`reload storm: ${runs} of ${RUNS} activations recorded wrongly\n${wrong.join('\n')}`);
    expect(wrong).toEqual([]);
  }, 600_000);

  it('during the storm a unit that ignores SIGTERM is still killed and recorded so; the others are stopped', async () => {
    await box.sh(
      "mkdir -p /run/systemd/system/quantum-execution.service.d && printf '[Service]\\nEnvironment=IGNORE_SIGTERM=1\\n' > /run/systemd/system/quantum-execution.service.d/90-stubborn.conf && systemctl daemon-reload && systemctl restart quantum-execution.service",
    );
    try {
      const since = await sandboxNow();
      const r = await activateDuringStorm('reload storm, stubborn unit');
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const state = await box.stateJson();
      expect(state.last_activation?.result).toBe('degraded');
      for (const u of state.last_activation?.units ?? []) {
        expect(u.result, u.unit).toBe(u.unit === 'quantum-execution.service' ? 'killed' : 'stopped');
      }
      const states = await box.waitFor(TRADING, DOWN, 10000);
      for (const unit of TRADING) expect(DOWN, `${unit} is ${states[unit]}`).toContain(states[unit]);
      const journal = await box.mustRun('journalctl', '-t', 'quantum-ess', '--since', `@${since.toFixed(3)}`, '--no-pager', '-o', 'cat');
      expect(journal).toContain('quantum-execution.service ignored SIGTERM; every process of it killed with SIGKILL');
    } finally {
      await box.sh('rm -f /run/systemd/system/quantum-execution.service.d/90-stubborn.conf && systemctl daemon-reload');
    }
  });
  it('during the storm a KillMode=process unit\'s child that ignores SIGTERM is killed (leftovers-killed), no monitor is touched, nothing comes back', async () => {
    // the main process exits on SIGTERM, its child ignores it: systemd leaves the child behind
    const dir = '/run/systemd/system/quantum-ai-engine.service.d';
    const dropin = `${dir}/90-leaky.conf`;
    await box.sh(
      `mkdir -p ${dir} && printf '[Service]\\nKillMode=process\\nExecStart=\\nExecStart=/bin/bash -c "IGNORE_SIGTERM=1 /opt/quantum-ess-src/sandbox/fixtures/stand-in-worker.sh leaky-child & exec /opt/quantum-ess-src/sandbox/fixtures/stand-in-worker.sh quantum-ai-engine"\\n' > ${dropin} && systemctl daemon-reload && systemctl restart quantum-ai-engine.service && sleep 0.3`,
    );
    const monitorsBefore = await box.mustRun('systemctl', 'show', '-p', 'MainPID', '-p', 'ActiveEnterTimestamp', '--', ...MONITOR);
    try {
      const r = await activateDuringStorm('reload storm, leaky unit');
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const state = await box.stateJson();
      expect(state.last_activation?.result).toBe('degraded');
      for (const u of state.last_activation?.units ?? []) {
        expect(u.result, u.unit).toBe(u.unit === 'quantum-ai-engine.service' ? 'leftovers-killed' : 'stopped');
      }
      expect((await box.sh("pgrep -c -f '[s]tand-in-worker.sh leaky-child' || true")).stdout.trim()).toBe('0');
      const states = await box.waitFor(TRADING, DOWN, 10000);
      for (const unit of TRADING) expect(DOWN, `${unit} is ${states[unit]}`).toContain(states[unit]);
      expect(await box.mustRun('systemctl', 'show', '-p', 'MainPID', '-p', 'ActiveEnterTimestamp', '--', ...MONITOR)).toBe(monitorsBefore);
    } finally {
      await box.sh(`rm -f ${dropin} && systemctl daemon-reload`);
    }
  });
});
