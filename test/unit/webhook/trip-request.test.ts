import { watch } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TripRequestError, tripRequestContent, tripRequestName, writeTripRequest } from '../../../src/webhook/trip-request.js';
import { RESERVE_FILE_BYTES, TripReserve } from '../../../src/webhook/trip-reserve.js';

describe('trip request content and name', () => {
  it('has exactly the three lines the controller reads, scope fleet unless given', () => {
    expect(tripRequestContent('alert X fingerprint=1a groupKey={}:{alertname="X"}')).toBe(
      'source=alertmanager\nscope=fleet\nreason=alert X fingerprint=1a groupKey={}:{alertname="X"}\n',
    );
    expect(tripRequestContent('r', 'host:h1')).toBe('source=alertmanager\nscope=host:h1\nreason=r\n');
    expect(tripRequestContent('r', 'group:eu.exec-1')).toBe('source=alertmanager\nscope=group:eu.exec-1\nreason=r\n');
  });

  it.each(['', 'host:', 'group:-x', 'host:a b', 'fleet\nsource=x', 'cluster:x', `host:${'a'.repeat(64)}`])(
    'refuses to write the scope %j, which the controller would record as invalid',
    (scope) => {
      expect(() => tripRequestContent('r', scope)).toThrow(TripRequestError);
    },
  );

  it('replaces anything outside printable ASCII with ? and cuts the reason to 200 characters', () => {
    expect(tripRequestContent('a\nsource=forged\tb\u00e9\u{1f600}\u0000')).toBe('source=alertmanager\nscope=fleet\nreason=a?source=forged?b???\n');
    expect(tripRequestContent('x'.repeat(500))).toBe(`source=alertmanager\nscope=fleet\nreason=${'x'.repeat(200)}\n`);
  });

  it('names files uniquely from the time and the fingerprint, in the allowed characters only', () => {
    const names = new Set(Array.from({ length: 200 }, () => tripRequestName('1a2b/../.x', 1732470000000)));
    expect(names.size).toBe(200);
    for (const name of names) expect(name).toMatch(/^1732470000000-1a2bx-[0-9a-f]{12}$/);
    expect(tripRequestName('', 5)).toMatch(/^5-nofingerprint-[0-9a-f]{12}$/);
    expect(tripRequestName('.hidden', 5)).not.toMatch(/^\./);
  });
});

describe('writeTripRequest', () => {
  let spool: string;
  beforeEach(async () => {
    spool = await mkdtemp(join(tmpdir(), 'ess-spool-test-'));
    await mkdir(join(spool, 'tmp'), { mode: 0o1730 });
    await mkdir(join(spool, 'incoming'), { mode: 0o1730 });
  });
  afterEach(() => rm(spool, { recursive: true, force: true }));

  it('delivers a complete 0640 file into incoming/ through tmp/ and leaves tmp/ empty', async () => {
    const seenInTmp: string[] = [];
    const watcher = watch(join(spool, 'tmp'), (_event, name) => {
      if (name !== null) seenInTmp.push(name);
    });
    const written = await writeTripRequest(spool, { fingerprint: 'abc123', reason: 'alert A' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // inotify events arrive asynchronously
    watcher.close();

    const name = written.path.replace(/^incoming\//, '');
    expect(written.path).toMatch(/^incoming\/\d+-abc123-[0-9a-f]{12}$/);
    expect(await readdir(join(spool, 'incoming'))).toEqual([name]);
    expect(await readdir(join(spool, 'tmp'))).toEqual([]);
    expect(seenInTmp).toContain(name);
    expect(await readFile(join(spool, written.path), 'utf8')).toBe('source=alertmanager\nscope=fleet\nreason=alert A\n');
    const info = await stat(join(spool, written.path));
    expect(info.mode & 0o7777).toBe(0o640);
    expect(info.nlink).toBe(1);
    expect(info.isFile()).toBe(true);
  });

  it("carries the webhook request's arrival as its mtime, to the microsecond: the trigger instant the controller records", async () => {
    const receivedAtMs = Date.now() - 1234.567;
    const written = await writeTripRequest(spool, { fingerprint: 'f', reason: 'r', receivedAtMs });
    const info = await stat(join(spool, written.path), { bigint: true });
    expect(Math.abs(Number(info.mtimeNs / 1000n) - receivedAtMs * 1000)).toBeLessThanOrEqual(1);
  });

  it('fails naming the step and leaves nothing behind when incoming/ is missing', async () => {
    await rmdir(join(spool, 'incoming'));
    const failure = writeTripRequest(spool, { fingerprint: 'f', reason: 'r' });
    await expect(failure).rejects.toBeInstanceOf(TripRequestError);
    await expect(failure).rejects.toThrow(/moving it into incoming\/ failed: ENOENT/);
    expect(await readdir(join(spool, 'tmp'))).toEqual([]);
  });

  it('reports a whole request as complete', async () => {
    const written = await writeTripRequest(spool, { fingerprint: 'f', reason: 'r' });
    expect([written.stored, written.problem]).toEqual(['complete', undefined]);
  });

  it('creates the request in incoming/ itself when tmp/ is unusable, saying why', async () => {
    await rmdir(join(spool, 'tmp'));
    const written = await writeTripRequest(spool, { fingerprint: 'f', reason: 'r' });
    expect(written.stored).toBe('direct');
    expect(written.problem).toMatch(/cannot create tmp\/.*ENOENT/);
    expect(await readFile(join(spool, written.path), 'utf8')).toBe('source=alertmanager\nscope=fleet\nreason=r\n');
  });

  it('fails naming every step, keeping the cause, when no request can reach incoming/', async () => {
    await rmdir(join(spool, 'tmp'));
    await rmdir(join(spool, 'incoming'));
    const error = await writeTripRequest(spool, { fingerprint: 'f', reason: 'r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TripRequestError);
    expect(String(error)).toMatch(/cannot create tmp\/.*no fallback could deliver it either \(.*direct: ENOENT/);
    expect((error as Error).cause).toMatchObject({ cause: { code: 'ENOENT' } });
  });

  // Production: user quantum-ess in group quantum-ess, both dirs 1730 root:quantum-ess. Only root can
  // switch users, so only then is this checked as it really runs.
  it.runIf(process.getuid?.() === 0)('works as an unprivileged group member that cannot list or open incoming/', async () => {
    const NOBODY = 65534;
    await chmod(spool, 0o755);
    for (const dir of ['tmp', 'incoming']) {
      await chown(join(spool, dir), 0, NOBODY);
      await chmod(join(spool, dir), 0o1730);
    }
    const script = `import { writeTripRequest } from ${JSON.stringify(join(import.meta.dirname, '../../../src/webhook/trip-request.ts'))};
      const written = await writeTripRequest(process.argv[1], { fingerprint: 'ff00', reason: 'as nobody' });
      console.log(JSON.stringify(written));`;
    const parentModes = await allowTraversal(spool);
    try {
      const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '--import', 'tsx', '--input-type=module', '-e', script, spool], {
        reject: false,
        cwd: join(import.meta.dirname, '../../..'),
        env: { TSX_TSCONFIG_PATH: join(import.meta.dirname, '../../../tsconfig.json') },
        timeout: 20_000,
      });
      expect(result.stderr).toBe('');
      const written = JSON.parse(result.stdout) as { path: string; directorySynced: boolean };
      expect(written.directorySynced).toBe(false);
      const info = await stat(join(spool, written.path));
      expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([NOBODY, NOBODY, 0o640]);
      expect(await readdir(join(spool, 'tmp'))).toEqual([]);
    } finally {
      for (const [dir, mode] of parentModes) await chmod(dir, mode);
    }
  });
});

/** mkdtemp makes 0700 directories; nobody needs search permission on the way to the spool. */
async function allowTraversal(spool: string): Promise<[string, number][]> {
  const changed: [string, number][] = [];
  for (let dir = join(spool, '..'); dir !== '/'; dir = join(dir, '..')) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      changed.push([dir, mode]);
      await chmod(dir, mode | 0o001);
    }
  }
  return changed;
}

// A spool as small as the real one is big: a tmpfs whoever fills, bytes or inodes, leaves the next trip
// no room. A request latches by its presence, so each must still reach incoming/ (issue: a full spool
// refused every later trip, forever). Mounting needs root.
describe.runIf(process.getuid?.() === 0)('writeTripRequest on a full tmpfs spool', () => {
  let spool: string;
  beforeEach(async () => {
    spool = await mkdtemp(join(tmpdir(), 'ess-spool-full-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,nr_inodes=24', 'ess-spool-test', spool]);
    for (const dir of ['tmp', 'incoming', 'reserve']) await mkdir(join(spool, dir), { mode: 0o1730 });
  });
  afterEach(async () => {
    await execa('umount', [spool]);
    await rm(spool, { recursive: true, force: true });
  });

  async function fillBytes(): Promise<void> {
    await execa('sh', ['-c', `dd if=/dev/zero of=${spool}/tmp/junk bs=4k 2>/dev/null; true`]);
  }
  async function fillInodes(): Promise<void> {
    await execa('sh', ['-c', `i=0; while touch ${spool}/tmp/j$i 2>/dev/null; do i=$((i+1)); done`]);
  }

  it('bytes full: the staged file goes in empty, latching; the root side records it without a reason', async () => {
    await fillBytes();
    const written = await writeTripRequest(spool, { fingerprint: 'f', reason: 'full' });
    expect(written.stored).toBe('emptied');
    expect(written.problem).toMatch(/ENOSPC/);
    expect((await stat(join(spool, written.path))).size).toBe(0);
    expect(await readdir(join(spool, 'tmp'))).toEqual(['junk']);
  });

  it('inodes and bytes full: a spare request of the reserve carries this one, whole', async () => {
    const reserve = new TripReserve(spool, 2);
    await reserve.fill();
    expect(reserve.size).toBe(2);
    expect((await stat(join(spool, 'reserve', (await readdir(join(spool, 'reserve')))[0] ?? ''))).size).toBe(RESERVE_FILE_BYTES);
    await fillBytes();
    await fillInodes();
    const written = await writeTripRequest(spool, { fingerprint: 'f', reason: 'no inode left', scope: 'host:h1' }, reserve);
    expect(written.stored).toBe('reserve');
    expect(await readFile(join(spool, written.path), 'utf8')).toBe('source=alertmanager\nscope=host:h1\nreason=no inode left\n');
    expect(reserve.size).toBe(1);
    expect((await writeTripRequest(spool, { fingerprint: 'g', reason: 'again' }, reserve)).stored).toBe('reserve');
    // the reserve is spent and cannot be refilled while the spool is full: refused, so Alertmanager retries
    await reserve.fill();
    expect(reserve.size).toBe(0);
    expect(reserve.problem).toMatch(/ENOSPC/);
    await expect(writeTripRequest(spool, { fingerprint: 'h', reason: 'none left' }, reserve)).rejects.toThrow(/no fallback could deliver it either/);
  });

  it('a restarted receiver adopts the spares left before it: inodes taken meanwhile leave the trips their reserve', async () => {
    await chmod(join(spool, 'reserve'), 0o700);
    await new TripReserve(spool, 3).fill();
    await writeFile(join(spool, 'reserve', 'r-00000000000000ff'), 'x'); // not a spare: left alone
    await fillBytes();
    await fillInodes();
    const restarted = new TripReserve(spool, 3);
    await restarted.fill();
    expect(restarted.size).toBe(3);
    for (const fingerprint of ['a', 'b', 'c']) {
      expect((await writeTripRequest(spool, { fingerprint, reason: 'r' }, restarted)).stored).toBe('reserve');
    }
    expect(restarted.size).toBe(0);
  });

  it('a reserve file the root side removed is skipped, the next one used', async () => {
    const reserve = new TripReserve(spool, 2);
    await reserve.fill();
    await rm(join(spool, 'reserve', (await readdir(join(spool, 'reserve')))[0] ?? ''));
    await fillBytes();
    await fillInodes();
    expect((await writeTripRequest(spool, { fingerprint: 'f', reason: 'r' }, reserve)).stored).toBe('reserve');
  });

  it('inodes full, no reserve: refused (500), nothing left behind', async () => {
    await fillInodes();
    await expect(writeTripRequest(spool, { fingerprint: 'f', reason: 'r' })).rejects.toThrow(/cannot create tmp\/.*ENOSPC.*direct: ENOSPC/);
    expect(await readdir(join(spool, 'incoming'))).toEqual([]);
  });
});
