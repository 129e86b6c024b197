import { chmod, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
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

  it('follows the directory removed and made again, and replaced by a rename, without a scrape', async () => {
    const dir = join(fakeHost.dir, 'run');
    reader = new FlagReader(fakeHost.flagFile, new ReadHealth(silentLog));
    await reader.watch();
    await rm(dir, { recursive: true });
    await mkdir(dir);
    // the watch of the removed directory is dead; the new one is found within the directory poll
    await writeFile(fakeHost.flagFile, '');
    await latencyUntil(reader, true, Date.now(), 5000);
    await rm(fakeHost.flagFile);
    await latencyUntil(reader, false, Date.now(), 5000);

    // a directory made elsewhere and renamed over the empty one (a bind mount swapped works alike)
    const next = join(fakeHost.dir, 'run.next');
    await mkdir(next);
    await rename(next, dir);
    await writeFile(fakeHost.flagFile, '');
    await latencyUntil(reader, true, Date.now(), 5000);
    await rm(fakeHost.flagFile);
    await latencyUntil(reader, false, Date.now(), 5000);
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
  // directory, nor the flag itself when the controller made it: those files cause no read error, and
  // the flag's creation and removal are still seen by the watch alone.
  it.runIf(process.getuid?.() === 0)('follows a root-only flag among root-only files, with no read error, and lets go on close', async () => {
    const host = await createFakeHost();
    try {
      const dir = join(host.dir, 'run');
      await chmod(host.dir, 0o755);
      await chmod(dir, 0o755);
      const module = new URL('../../src/readers/flag.ts', import.meta.url).href;
      const health = new URL('../../src/readers/read-health.ts', import.meta.url).href;
      // answers each line on stdin: "watch" with what the watch alone saw, "check" after a scrape's
      // check(), "close" by closing the reader and then exiting on its own (nothing left open)
      const script = `
        const { FlagReader } = await import(${JSON.stringify(module)});
        const { ReadHealth } = await import(${JSON.stringify(health)});
        const { createInterface } = await import('node:readline');
        const { readdirSync, readFileSync } = await import('node:fs');
        // the inotify watches this process holds, as the kernel lists them
        const watches = () => readdirSync('/proc/self/fdinfo').reduce((n, fd) => {
          try { return n + (readFileSync('/proc/self/fdinfo/' + fd, 'utf8').match(/^inotify wd:/gm)?.length ?? 0); } catch { return n; }
        }, 0);
        const h = new ReadHealth(() => {});
        const reader = new FlagReader(process.argv[1], h);
        await reader.watch();
        const report = () => process.stdout.write(JSON.stringify({ present: reader.isPresent(), errors: h.get('flag').errors, last: h.get('flag').lastError, ok: h.get('flag').ok, watches: watches() }) + '\\n');
        report();
        const lines = createInterface({ input: process.stdin });
        lines.on('line', async (line) => {
          if (line === 'check') await reader.check();
          if (line === 'close') {
            lines.close();
            process.stdin.destroy();
            await reader.close();
            return;
          }
          report();
        });`;
      const child = execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '--import', 'tsx', '--input-type=module', '-e', script, host.flagFile], {
        cwd: new URL('../..', import.meta.url).pathname,
        stdin: 'pipe',
        timeout: 60_000,
      });
      const lines = createInterface({ input: child.stdout });
      const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
      const ask = async (what: string): Promise<unknown> => {
        const answer = next();
        child.stdin?.write(`${what}\n`);
        return JSON.parse(await answer);
      };
      /** Asks until the watch alone shows `present`. */
      const watched = async (present: boolean): Promise<unknown> => {
        for (let i = 0; i < 200; i += 1) {
          const seen = await ask('watch');
          if ((seen as { present: boolean }).present === present) return seen;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error(`the watch never saw the flag ${present ? 'created' : 'removed'}`);
      };
      // one watch, on the directory: never one on another entry, even one it could read
      const clean = { errors: 0, last: null, ok: true, watches: 1 };
      expect(JSON.parse(await next())).toEqual({ present: false, ...clean });
      await writeFile(join(dir, 'public'), 'x', { mode: 0o644 });
      // siblings the exporter's user can neither read nor list
      await writeFile(join(dir, 'private'), 'x', { mode: 0o600 });
      await writeFile(join(dir, 'sealed'), 'x', { mode: 0o000 });
      await mkdir(join(dir, 'private.d'), { mode: 0o700 });
      await writeFile(join(dir, 'private.d', 'inner'), 'x', { mode: 0o600 });
      // the controller's way: a private temp file, a lock file, then the flag as a hard link of a finished file
      for (let i = 0; i < 20; i += 1) {
        const tmp = join(dir, `.ESS_ON.tmp${i}`);
        await writeFile(tmp, 'x', { mode: 0o600 });
        await writeFile(join(dir, `.lock${i}`), '', { mode: 0o600 });
        await rm(tmp);
      }
      await writeFile(join(dir, '.ESS_ON.1.2'), '{}', { mode: 0o600 });
      await link(join(dir, '.ESS_ON.1.2'), host.flagFile);
      await rm(join(dir, '.ESS_ON.1.2'));
      expect(await watched(true)).toEqual({ present: true, ...clean });
      await rm(host.flagFile);
      expect(await watched(false)).toEqual({ present: false, ...clean });
      await writeFile(join(dir, '.ESS_ON.new'), '{}', { mode: 0o600 });
      await rename(join(dir, '.ESS_ON.new'), host.flagFile);
      expect(await watched(true)).toEqual({ present: true, ...clean });
      expect(await ask('check')).toEqual({ present: true, ...clean });
      child.stdin?.write('close\n');
      // a watch left open would keep the process alive until the timeout kills it
      expect((await child).exitCode).toBe(0);
    } finally {
      await host.cleanup();
    }
  });
});
