import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertsReader, unitObjectPath } from '../../src/readers/asserts.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { assertsText, createFakeHost, latchAssertsText, type FakeHost, silentLog, TRADING } from './helpers.js';

describe('unitObjectPath', () => {
  it('escapes every byte outside [A-Za-z0-9] as _xx, as systemd does', () => {
    expect(unitObjectPath('quantum-execution.service')).toBe('/org/freedesktop/systemd1/unit/quantum_2dexecution_2eservice');
    expect(unitObjectPath('trader@eu_1.service')).toBe('/org/freedesktop/systemd1/unit/trader_40eu_5f1_2eservice');
    expect(unitObjectPath('-.slice')).toBe('/org/freedesktop/systemd1/unit/_2d_2eslice');
  });
});

describe('AssertsReader', () => {
  let fakeHost: FakeHost;
  let health: ReadHealth;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    health = new ReadHealth(silentLog);
  });
  afterEach(() => fakeHost.cleanup());

  const reader = (cacheMs = 0): AssertsReader =>
    new AssertsReader({ busctlPath: join(fakeHost.dir, 'busctl'), timeoutMs: 2000, cacheMs, units: TRADING }, health);

  it('reads each unit with one busctl get-property of its object', async () => {
    await fakeHost.setAsserts(TRADING[1], assertsText('/x/y'));
    const asserts = await reader().refresh();
    expect(asserts.get(TRADING[0])).toBe(latchAssertsText(fakeHost.flagFile, fakeHost.stateDir, fakeHost.spoolDir));
    expect(asserts.get(TRADING[1])).toBe(assertsText('/x/y'));
    expect(health.get('asserts')).toMatchObject({ ok: true, errors: 0 });
  });

  it('gives a unit whose busctl failed empty text (guard unknown), not its last known text, and names it', async () => {
    const asserts = reader();
    await asserts.refresh();
    await fakeHost.setAsserts(TRADING[0], null);
    const after = await asserts.refresh();
    expect(after.get(TRADING[0])).toBe('');
    expect(after.get(TRADING[1])).not.toBe('');
    expect(health.get('asserts')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('asserts').lastError).toMatch(/Asserts of quantum-ai-engine.service.*exit code 1.*Connection timed out/);
  });

  it('runs busctl again only once the cache has expired', async () => {
    // a busctl that counts its runs
    const calls = join(fakeHost.dir, 'busctl-calls');
    const real = join(fakeHost.dir, 'busctl');
    await writeFile(join(fakeHost.dir, 'counting-busctl'), `#!/bin/sh\necho x >> '${calls}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const asserts = new AssertsReader(
      { busctlPath: join(fakeHost.dir, 'counting-busctl'), timeoutMs: 2000, cacheMs: 60_000, units: TRADING },
      health,
    );
    await Promise.all([asserts.refresh(), asserts.refresh()]);
    await asserts.refresh();
    expect((await readFile(calls, 'utf8')).split('\n').filter(Boolean)).toHaveLength(TRADING.length);
  });
});
