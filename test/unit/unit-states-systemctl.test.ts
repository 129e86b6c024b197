import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadHealth } from '../../src/readers/read-health.js';
import { SystemdReader } from '../../src/readers/unit-states-systemctl.js';
import { createFakeHost, MONITOR, type FakeHost, showOutput, silentLog, SWITCH, TRADING } from './helpers.js';

// the units an exporter asks about, matching the fake host's default systemctl output
const UNITS = [...TRADING, ...MONITOR, ...SWITCH];

describe('SystemdReader', () => {
  let fakeHost: FakeHost;
  let health: ReadHealth;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    health = new ReadHealth(silentLog);
  });
  afterEach(() => fakeHost.cleanup());

  const reader = (timeoutMs: number, cacheMs: number): SystemdReader =>
    new SystemdReader({ systemctlPath: `${fakeHost.dir}/systemctl`, timeoutMs, cacheMs, units: UNITS }, health);

  it('reads every unit with one batched systemctl show', async () => {
    const statuses = await reader(1000, 0).refresh();
    expect(statuses?.get('quantum-ai-engine.service')?.state).toBe('inactive');
    expect(statuses?.get('redis-server.service')?.state).toBe('active');
    expect(await fakeHost.systemctlCalls()).toBe(1);
  });

  it('shares one run between concurrent refreshes and caches for cacheMs', async () => {
    const systemd = reader(1000, 60_000);
    await Promise.all(Array.from({ length: 20 }, () => systemd.refresh()));
    await systemd.refresh();
    expect(await fakeHost.systemctlCalls()).toBe(1);
  });

  it('runs again once the cache has expired', async () => {
    const systemd = reader(1000, 0);
    await systemd.refresh();
    await fakeHost.setShowOutput(showOutput(UNITS.map((name) => ({ name, active: 'failed' }))));
    const statuses = await systemd.refresh();
    expect(statuses?.get('quantum-execution.service')?.state).toBe('failed');
    expect(await fakeHost.systemctlCalls()).toBe(2);
  });

  it('bounds a hung systemctl (whose child keeps the pipe open) and keeps the last known states', async () => {
    const systemd = reader(300, 0);
    const known = await systemd.refresh();
    await fakeHost.setSystemctlBehaviour('hang');
    const started = Date.now();
    expect(await systemd.refresh()).toBe(known);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(health.get('systemd')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('systemd').lastError).toMatch(/timed out after 300 ms/);
  });

  it('counts a failing systemctl as a read error', async () => {
    await fakeHost.setSystemctlBehaviour('fail');
    expect(await reader(1000, 0).refresh()).toBeNull();
    expect(health.get('systemd').lastError).toMatch(/exit code 1.*Failed to connect to bus/);
  });

  it('counts output that does not match the units as a read error', async () => {
    await fakeHost.setShowOutput(showOutput([{ name: 'only-one.service', active: 'active' }]));
    expect(await reader(1000, 0).refresh()).toBeNull();
    expect(health.get('systemd').lastError).toMatch(/expected 7 property blocks, got 1/);
  });

  it('does not cache a run that was in flight when the states were invalidated (latch change)', async () => {
    const systemd = reader(5000, 60_000);
    await fakeHost.setSystemctlBehaviour('slow');
    const stale = systemd.refresh(); // starts a run that reads the old states
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fakeHost.setShowOutput(showOutput(UNITS.map((name) => ({ name, active: 'failed' }))));
    systemd.invalidate();
    await fakeHost.setSystemctlBehaviour('print');
    await stale;
    const fresh = await systemd.refresh();
    expect(fresh?.get('quantum-ai-engine.service')?.state).toBe('failed');
  });
});
