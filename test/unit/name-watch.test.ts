// watchNames with pollMs: what the web reloader uses for a certificate in a directory the exporter
// cannot list. Only a stat() of the path sees a symbolic link switched or a file renamed over it; an
// inotify watch of the file itself follows the inode it first named.
import { mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchNames } from '../../src/io/name-watch.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Watches `file` alone; resolves with how many events it reported while `change` ran and 600 ms after. */
async function eventsDuring(file: string, pollMs: number | undefined, change: () => Promise<void>): Promise<number> {
  let events = 0;
  const count = (): void => {
    events += 1;
  };
  const watcher = await watchNames([file], [file], { onPath: count, onRaw: count, onError: count }, pollMs);
  try {
    await new Promise((resolve) => setTimeout(resolve, 150));
    events = 0;
    await change();
    await new Promise((resolve) => setTimeout(resolve, 600));
    return events;
  } finally {
    await watcher.close();
  }
}

describe('watchNames on a file', () => {
  it('polled, sees a symbolic link switched to another certificate, as certbot renews', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ess-name-watch-'));
    const d = dir;
    await writeFile(join(d, 'cert1.pem'), 'one');
    await writeFile(join(d, 'cert2.pem'), 'two');
    await symlink(join(d, 'cert1.pem'), join(d, 'cert.pem'));
    const switchLink = async (to: string): Promise<void> => {
      await symlink(join(d, to), join(d, 'cert.pem.new'));
      await rename(join(d, 'cert.pem.new'), join(d, 'cert.pem'));
    };
    expect(await eventsDuring(join(d, 'cert.pem'), 50, () => switchLink('cert2.pem'))).toBeGreaterThan(0);
    // the reason for polling: an inotify watch of the same path stays on the first target
    expect(await eventsDuring(join(d, 'cert.pem'), undefined, () => switchLink('cert1.pem'))).toBe(0);
  });

  it('polled, sees a file renamed over it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ess-name-watch-'));
    const d = dir;
    await writeFile(join(d, 'key.pem'), 'old');
    const renameOver = async (): Promise<void> => {
      await writeFile(join(d, 'key.pem.new'), 'renewed');
      await rename(join(d, 'key.pem.new'), join(d, 'key.pem'));
    };
    expect(await eventsDuring(join(d, 'key.pem'), 50, renameOver)).toBeGreaterThan(0);
  });
});
