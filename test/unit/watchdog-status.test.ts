import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { registerWatchdogStatusMetrics } from '../../src/collectors/watchdog-status-metrics.js';
import { WATCHDOG_CHECK_STALE_SEC, WatchdogStatusReader } from '../../src/readers/watchdog-status.js';

const record = (uptimeUs: number): string =>
  `${JSON.stringify({ schema: 1, time: 1796600000, uptime_us: uptimeUs, state: 'fresh', action: 'trip', max_silence_sec: 300, silence_sec: 4, paused_until: 0 })}\n`;

describe('the watchdog check as the exporter believes it', () => {
  let dir = '';
  let reader: WatchdogStatusReader;
  let registry: Registry;
  const uptime = (sec: number): Promise<void> => writeFile(join(dir, 'uptime'), `${sec.toFixed(2)} 12345.67\n`);
  const metric = async (name: string): Promise<string | undefined> =>
    (await registry.metrics()).split('\n').find((line) => line.startsWith(`${name} `))?.split(' ')[1];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ess-watchdog-status-'));
    reader = new WatchdogStatusReader(dir, () => undefined, join(dir, 'uptime'));
    registry = new Registry();
    registerWatchdogStatusMetrics(registry, { action: 'trip', maxSilenceSec: 300 }, { current: () => reader.current(), stale: () => reader.stale() });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('believes a recent check, and calls one older than the bound on the uptime clock stale, dropping its "fresh"', async () => {
    await writeFile(join(dir, 'watchdog.json'), record(1000_000_000));
    await uptime(1000 + WATCHDOG_CHECK_STALE_SEC);
    await reader.read();
    expect(await metric('ess_watchdog_check_stale')).toBe('0');
    expect(await metric('ess_watchdog_silent')).toBe('0');
    await uptime(1000 + WATCHDOG_CHECK_STALE_SEC + 1);
    await reader.read();
    expect(await metric('ess_watchdog_check_stale')).toBe('1');
    expect(await metric('ess_watchdog_silent')).toBeUndefined();
  });

  it('calls no record at all stale while the switch is on, and says nothing with WATCHDOG_ACTION=off', async () => {
    await uptime(50);
    await reader.read();
    expect(await metric('ess_watchdog_check_stale')).toBe('1');
    const off = new Registry();
    registerWatchdogStatusMetrics(off, { action: 'off', maxSilenceSec: 300 }, { current: () => reader.current(), stale: () => reader.stale() });
    expect(await off.metrics()).not.toMatch(/^ess_watchdog_check_stale /m);
  });
});
