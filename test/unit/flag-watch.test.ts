import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlagReader } from '../../src/readers/flag.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { createFakeHost, type FakeHost, silentLog } from './helpers.js';

/** Resolves with the milliseconds until the reader reports `want`; gives up after limitMs. */
async function latencyUntil(reader: FlagReader, want: boolean, started: number, limitMs = 1000): Promise<number> {
  while (reader.isPresent() !== want) {
    if (Date.now() - started > limitMs) throw new Error(`flag never became ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - started;
}

describe('FlagReader watch', () => {
  let fakeHost: FakeHost;
  let reader: FlagReader | undefined;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
  });
  afterEach(async () => {
    await reader?.close();
    reader = undefined;
    await fakeHost.cleanup();
  });

  it('follows create, atomic replace and removal within 100 ms, without a scrape', async () => {
    reader = new FlagReader(fakeHost.flagFile, new ReadHealth(silentLog));
    await reader.watch();
    expect(reader.isPresent()).toBe(false);

    let started = Date.now();
    await writeFile(fakeHost.flagFile, '');
    expect(await latencyUntil(reader, true, started)).toBeLessThan(100);

    started = Date.now();
    await rm(fakeHost.flagFile);
    expect(await latencyUntil(reader, false, started)).toBeLessThan(100);

    // the controller's way: tmp file in the same directory, then rename
    const tmp = join(fakeHost.dir, 'run', '.ESS_ON.x1');
    await writeFile(tmp, '{"id":"x"}\n');
    started = Date.now();
    await rename(tmp, fakeHost.flagFile);
    expect(await latencyUntil(reader, true, started)).toBeLessThan(100);
  });

  it('starts watching the flag directory when it appears after start', async () => {
    await rm(join(fakeHost.dir, 'run'), { recursive: true });
    reader = new FlagReader(fakeHost.flagFile, new ReadHealth(silentLog));
    await reader.watch();
    expect(reader.isPresent()).toBe(false);
    await mkdir(join(fakeHost.dir, 'run'));
    await writeFile(fakeHost.flagFile, '');
    // no scrape (check()) here: only the watch, set up once the directory exists, can notice
    await latencyUntil(reader, true, Date.now(), 2500);
    const started = Date.now();
    await rm(fakeHost.flagFile);
    expect(await latencyUntil(reader, false, started)).toBeLessThan(100);
  });

  it('reports a stat failure other than "missing" as a read error and keeps the last value', async () => {
    const health = new ReadHealth(silentLog);
    await writeFile(join(fakeHost.dir, 'plain-file'), '');
    reader = new FlagReader(join(fakeHost.dir, 'plain-file', 'ESS_ON'), health);
    expect(await reader.check()).toBeNull();
    expect(health.get('flag')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('flag').lastError).toMatch(/cannot stat .*ENOTDIR/);
  });
});
