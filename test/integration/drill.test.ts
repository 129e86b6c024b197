// deploy/proof_ess.sh on real systemd: PASS on a healthy install, FAIL with the right reason for each
// seeded fault, and every unit back as it was afterwards, whatever failed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, Sandbox, TRADING } from '../../sandbox/sandbox.js';

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
  it('passes on a healthy install, with figures, and restores every unit', async () => {
    const r = await drill();
    expect(r.out).toMatch(/PASS exporter ess_active\s+ess_active=1/);
    expect(r.out).toMatch(/PASS all trading units stopped\s+in [0-9.]+ s \(deadline 2 s\)/);
    expect(r.out).toMatch(/PASS resume order/);
    expect(r.out).toContain('SUMMARY: PASS');
    expect(r.exitCode).toBe(0);
    await expectRestored();
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
      expect(r.out).toMatch(/FAIL graceful stop \(SIGTERM\)\s+ignored SIGTERM, needed SIGKILL: quantum-apply-layer.service/);
      expect(r.out).toMatch(/PASS all trading units stopped/);
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
      await expectRestored();
    });
  });

  it('fails when the exporter is installed but down', async () => {
    await box.mustRun('systemctl', 'stop', 'quantum-ess-exporter.service');
    try {
      const r = await drill();
      expect(r.out).toMatch(/FAIL exporter\s+quantum-ess-exporter.service is installed but http:\/\/127.0.0.1:10170\/metrics does not answer/);
      expect(r.out).toContain('SUMMARY: FAIL');
      expect(r.exitCode).toBe(1);
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-exporter.service');
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
