import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
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

describe('FlagReader watch, unprivileged', () => {
  // The exporter's user cannot read the controller's private temp and lock files (0600 root) in the flag's
  // directory: only the flag's own events may lead to a read, so those files cause no read error.
  it.runIf(process.getuid?.() === 0)('reads nothing but the flag in its directory', async () => {
    const host = await createFakeHost();
    try {
      const dir = join(host.dir, 'run');
      await chmod(host.dir, 0o755);
      await chmod(dir, 0o755);
      const module = new URL('../../src/readers/flag.ts', import.meta.url).href;
      const health = new URL('../../src/readers/read-health.ts', import.meta.url).href;
      const script = `
        const { FlagReader } = await import(${JSON.stringify(module)});
        const { ReadHealth } = await import(${JSON.stringify(health)});
        const h = new ReadHealth(() => {});
        const reader = new FlagReader(process.argv[1], h);
        await reader.watch();
        process.stdout.write('ready\\n');
        process.stdin.once('data', async () => {
          await reader.check();
          process.stdout.write(JSON.stringify({ present: reader.isPresent(), errors: h.get('flag').errors, last: h.get('flag').lastError }) + '\\n');
          await reader.close();
          process.exit(0);
        });`;
      const child = execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '--import', 'tsx', '--input-type=module', '-e', script, host.flagFile], {
        cwd: new URL('../..', import.meta.url).pathname,
        stdin: 'pipe',
      });
      const lines = createInterface({ input: child.stdout });
      const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
      expect(await next()).toBe('ready');
      // the controller's way: a private temp file, a lock file, then the flag by rename
      for (let i = 0; i < 20; i += 1) {
        const tmp = join(dir, `.ESS_ON.tmp${i}`);
        await writeFile(tmp, 'x', { mode: 0o600 });
        await writeFile(join(dir, `.lock${i}`), '', { mode: 0o600 });
        await rm(tmp);
      }
      await writeFile(join(dir, '.ESS_ON.new'), '{}', { mode: 0o600 });
      await rename(join(dir, '.ESS_ON.new'), host.flagFile);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answer = next();
      child.stdin?.write('\n');
      expect(JSON.parse(await answer)).toEqual({ present: true, errors: 0, last: null });
      await child;
    } finally {
      await host.cleanup();
    }
  });
});
