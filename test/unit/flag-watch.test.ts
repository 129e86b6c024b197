import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlagReader } from '../../src/readers/flag.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { createSandbox, type Sandbox, silentLog } from './helpers.js';

/** Resolves with the milliseconds until the reader reports `want`; gives up after limitMs. */
async function latencyUntil(reader: FlagReader, want: boolean, started: number, limitMs = 1000): Promise<number> {
  while (reader.isPresent() !== want) {
    if (Date.now() - started > limitMs) throw new Error(`flag never became ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - started;
}

describe('FlagReader watch', () => {
  let sandbox: Sandbox;
  let reader: FlagReader | undefined;
  beforeEach(async () => {
    sandbox = await createSandbox();
  });
  afterEach(async () => {
    await reader?.close();
    reader = undefined;
    await sandbox.cleanup();
  });

  it('follows create, atomic replace and removal within 100 ms, without a scrape', async () => {
    reader = new FlagReader(sandbox.flagFile, new ReadHealth(silentLog));
    await reader.watch();
    expect(reader.isPresent()).toBe(false);

    let started = Date.now();
    await writeFile(sandbox.flagFile, '');
    expect(await latencyUntil(reader, true, started)).toBeLessThan(100);

    started = Date.now();
    await rm(sandbox.flagFile);
    expect(await latencyUntil(reader, false, started)).toBeLessThan(100);

    // the controller's way: tmp file in the same directory, then rename
    const tmp = join(sandbox.dir, 'run', '.ESS_ON.x1');
    await writeFile(tmp, '{"id":"x"}\n');
    started = Date.now();
    await rename(tmp, sandbox.flagFile);
    expect(await latencyUntil(reader, true, started)).toBeLessThan(100);
  });

  it('starts watching the flag directory when it appears after start', async () => {
    await rm(join(sandbox.dir, 'run'), { recursive: true });
    reader = new FlagReader(sandbox.flagFile, new ReadHealth(silentLog));
    await reader.watch();
    expect(reader.isPresent()).toBe(false);
    await mkdir(join(sandbox.dir, 'run'));
    await writeFile(sandbox.flagFile, '');
    // no scrape (check()) here: only the watch, set up once the directory exists, can notice
    await latencyUntil(reader, true, Date.now(), 2500);
    const started = Date.now();
    await rm(sandbox.flagFile);
    expect(await latencyUntil(reader, false, started)).toBeLessThan(100);
  });

  it('reports a stat failure other than "missing" as a read error and keeps the last value', async () => {
    const health = new ReadHealth(silentLog);
    await writeFile(join(sandbox.dir, 'plain-file'), '');
    reader = new FlagReader(join(sandbox.dir, 'plain-file', 'ESS_ON'), health);
    expect(await reader.check()).toBeNull();
    expect(health.get('flag')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('flag').lastError).toMatch(/cannot stat .*ENOTDIR/);
  });
});
