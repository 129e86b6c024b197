import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LatchMarkersReader } from '../../src/readers/latch-markers.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { createSandbox, type Sandbox, silentLog } from './helpers.js';

describe('LatchMarkersReader', () => {
  let sandbox: Sandbox;
  let health: ReadHealth;
  let reader: LatchMarkersReader;
  beforeEach(async () => {
    sandbox = await createSandbox();
    health = new ReadHealth(silentLog);
    reader = new LatchMarkersReader(sandbox.stateDir, sandbox.hostPaths.runtimeDir, health);
  });
  afterEach(() => sandbox.cleanup());

  it('reads missing markers as no latch and empty content', async () => {
    expect(await reader.read()).toEqual({ latchedFile: false, persistProblem: '', resumePending: '' });
    expect(health.get('markers')).toMatchObject({ ok: true });
  });

  it('sees the persisted latch (a stat: the file is 0600 root) and the content of the markers', async () => {
    await writeFile(join(sandbox.stateDir, 'latched'), 'id\n', { mode: 0o600 });
    await sandbox.setMarker('persist-failed', 'audit: No space left on device\n');
    await sandbox.setMarker('resume-pending', 'quantum-execution.service\n');
    expect(await reader.read()).toEqual({
      latchedFile: true,
      persistProblem: 'audit: No space left on device\n',
      resumePending: 'quantum-execution.service\n',
    });
  });

  it('keeps the last known markers and fails the source when one cannot be read', async () => {
    const known = await reader.read();
    await mkdir(join(sandbox.hostPaths.runtimeDir, 'resume-pending'));
    expect(await reader.read()).toBe(known);
    expect(health.get('markers')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('markers').lastError).toMatch(/cannot read .*resume-pending.*EISDIR/);
    await rm(join(sandbox.hostPaths.runtimeDir, 'resume-pending'), { recursive: true });
    expect(await reader.read()).toEqual(known);
    expect(health.get('markers').ok).toBe(true);
  });
});
