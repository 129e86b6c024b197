import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LatchMarkersReader } from '../../src/readers/latch-markers.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { createFakeHost, exemptionRecord, type FakeHost, silentLog, TRADING } from './helpers.js';

describe('LatchMarkersReader', () => {
  let fakeHost: FakeHost;
  let health: ReadHealth;
  let reader: LatchMarkersReader;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    health = new ReadHealth(silentLog);
    reader = new LatchMarkersReader(fakeHost.stateDir, fakeHost.hostPaths.runtimeDir, TRADING, health);
  });
  afterEach(() => fakeHost.cleanup());

  it('reads missing markers as no latch and empty content, and no exemption file as none', async () => {
    expect(reader.exemptions()).toBeNull();
    expect(await reader.read()).toEqual({ latchedFile: false, persistProblem: '', resumePending: '', configProblem: '' });
    expect(reader.exemptions()).toEqual(new Map());
    expect(health.get('markers')).toMatchObject({ ok: true });
  });

  it('sees the persisted latch (a stat: the file is 0600 root) and the content of the markers', async () => {
    await writeFile(join(fakeHost.stateDir, 'latched'), 'id\n', { mode: 0o600 });
    await fakeHost.setMarker('persist-failed', 'audit: No space left on device\n');
    await fakeHost.setMarker('resume-pending', 'quantum-execution.service\n');
    await fakeHost.setMarker('config-problem', 'ess.conf.installed.bash is not the installer\'s snapshot\n');
    expect(await reader.read()).toEqual({
      latchedFile: true,
      persistProblem: 'audit: No space left on device\n',
      resumePending: 'quantum-execution.service\n',
      configProblem: 'ess.conf.installed.bash is not the installer\'s snapshot\n',
    });
  });

  it('keeps the last known markers and fails the source when one cannot be read', async () => {
    const known = await reader.read();
    await mkdir(join(fakeHost.hostPaths.runtimeDir, 'resume-pending'));
    expect(await reader.read()).toBe(known);
    expect(health.get('markers')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('markers').lastError).toMatch(/cannot read .*resume-pending.*EISDIR/);
    await rm(join(fakeHost.hostPaths.runtimeDir, 'resume-pending'), { recursive: true });
    expect(await reader.read()).toEqual(known);
    expect(health.get('markers').ok).toBe(true);
  });

  it('reads the exemption files of the trading units with the markers, expired ones included', async () => {
    await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], 1795659600));
    await fakeHost.setExemption(TRADING[0], exemptionRecord(TRADING[0], 1795600000));
    await reader.read();
    expect(reader.exemptions()).toEqual(
      new Map([
        [TRADING[0], exemptionRecord(TRADING[0], 1795600000)],
        [TRADING[1], exemptionRecord(TRADING[1], 1795659600)],
      ]),
    );
    expect(health.get('markers').ok).toBe(true);
    await fakeHost.setExemption(TRADING[0], null);
    await reader.read();
    expect([...(reader.exemptions()?.keys() ?? [])]).toEqual([TRADING[1]]);
  });

  it('fails the markers source on a malformed exemption file, drops that exemption at once and keeps reading the markers', async () => {
    await fakeHost.setExemption(TRADING[0], exemptionRecord(TRADING[0], 1795659600));
    await reader.read();
    expect(reader.exemptions()?.has(TRADING[0])).toBe(true);

    await fakeHost.setExemption(TRADING[0], '{"unit":"quantum-ai-engine.service","until":"later"}\n');
    await fakeHost.setMarker('persist-failed', 'state: Read-only file system\n');
    expect(await reader.read()).toMatchObject({ persistProblem: 'state: Read-only file system\n' });
    expect(reader.exemptions()).toEqual(new Map());
    expect(health.get('markers')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('markers').lastError).toMatch(/cannot use .*exempt\/quantum-ai-engine.service: since: missing/);

    await fakeHost.setExemption(TRADING[0], null);
    await reader.read();
    expect(health.get('markers').ok).toBe(true);
  });

  it('reports a marker failure over an exemption one, and still updates the exemptions', async () => {
    const known = await reader.read();
    await mkdir(join(fakeHost.hostPaths.runtimeDir, 'resume-pending'));
    await fakeHost.setExemption(TRADING[0], 'garbage');
    await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], 1795659600));
    expect(await reader.read()).toBe(known);
    expect(health.get('markers').lastError).toMatch(/resume-pending.*EISDIR/);
    expect([...(reader.exemptions()?.keys() ?? [])]).toEqual([TRADING[1]]);
  });
});
