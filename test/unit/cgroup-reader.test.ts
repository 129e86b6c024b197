import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupReader } from '../../src/readers/cgroup.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { silentLog } from './helpers.js';

describe('CgroupReader', () => {
  let root: string;
  let health: ReadHealth;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ess-cgroup-test-'));
    health = new ReadHealth(silentLog);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function cgroup(hierarchy: string, path: string, events: string): Promise<void> {
    await mkdir(join(hierarchy, path), { recursive: true });
    await writeFile(join(hierarchy, path, 'cgroup.events'), events);
  }

  it('reads populated from cgroup.events of a unified hierarchy', async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpu\n');
    await cgroup(root, 'system.slice/a.service', 'populated 1\nfrozen 0\n');
    await cgroup(root, 'system.slice/b.service', 'populated 0\nfrozen 0\n');
    const populated = await new CgroupReader(root, health).read(
      new Map([
        ['a.service', '/system.slice/a.service'],
        ['b.service', '/system.slice/b.service'],
        ['gone.service', '/system.slice/gone.service'],
        ['never.service', ''],
      ]),
    );
    expect(Object.fromEntries(populated)).toEqual({ 'a.service': 'yes', 'b.service': 'no', 'gone.service': 'no', 'never.service': 'no' });
    expect(health.get('cgroup')).toMatchObject({ ok: true });
  });

  it('uses unified/ on a hybrid host', async () => {
    const unified = join(root, 'unified');
    await mkdir(unified);
    await writeFile(join(unified, 'cgroup.controllers'), '');
    await cgroup(unified, 'system.slice/a.service', 'populated 1\n');
    expect((await new CgroupReader(root, health).read(new Map([['a.service', '/system.slice/a.service']]))).get('a.service')).toBe('yes');
  });

  it('says unknown, and fails the source, without a unified hierarchy', async () => {
    const populated = await new CgroupReader(root, health).read(new Map([['a.service', '/system.slice/a.service']]));
    expect(populated.get('a.service')).toBe('unknown');
    expect(health.get('cgroup').lastError).toMatch(/no unified \(cgroup2\) hierarchy at .* or .*\/unified/);
  });

  it('says unknown for a cgroup.events that exists but cannot be used', async () => {
    await writeFile(join(root, 'cgroup.controllers'), '');
    await mkdir(join(root, 'system.slice/dir.service/cgroup.events'), { recursive: true });
    await cgroup(root, 'system.slice/odd.service', 'frozen 0\n');
    // one unit per read: within one read the units are read concurrently and either error may come last
    const reader = new CgroupReader(root, health);
    const dir = await reader.read(new Map([['dir.service', '/system.slice/dir.service']]));
    expect(dir.get('dir.service')).toBe('unknown');
    expect(health.get('cgroup').lastError).toMatch(/dir.service: cannot read .*EISDIR/);
    const odd = await reader.read(new Map([['odd.service', '/system.slice/odd.service']]));
    expect(odd.get('odd.service')).toBe('unknown');
    expect(health.get('cgroup').lastError).toMatch(/odd.service: .* has no "populated 0\|1" line/);
  });

  it("reads the slice of each unit's user: by number, by name from passwd, never root's, unknown when unreadable", async () => {
    await writeFile(join(root, 'cgroup.controllers'), '');
    const passwd = join(root, 'passwd');
    await writeFile(passwd, 'root:x:0:0::/root:/bin/sh\ntrader:x:1001:1001::/home/trader:/bin/sh\nidle:x:1002:1002::/:/bin/sh\n');
    await cgroup(root, 'user.slice/user-1001.slice', 'populated 1\nfrozen 0\n');
    await cgroup(root, 'user.slice/user-1002.slice', 'populated 0\n');
    await cgroup(root, 'user.slice/user-0.slice', 'populated 1\n');
    await mkdir(join(root, 'user.slice/user-1003.slice/cgroup.events'), { recursive: true });
    const units = ['named.service', 'numbered.service', 'idle.service', 'root.service', 'zero.service', 'dynamic.service', 'gone.service', 'broken.service'];
    const reader = new CgroupReader(root, health, passwd);
    await reader.read(
      new Map(units.map((unit) => [unit, ''] as const)),
      new Map([
        ['named.service', 'trader'],
        ['numbered.service', '01001'],
        ['idle.service', 'idle'],
        ['root.service', ''],
        ['zero.service', '0'],
        ['dynamic.service', 'not-in-passwd'],
        ['gone.service', '4242'],
        ['broken.service', '1003'],
      ]),
    );
    expect(Object.fromEntries(reader.currentUserSlices())).toEqual({
      'named.service': 'yes',
      'numbered.service': 'yes',
      'idle.service': 'no',
      'root.service': 'no',
      'zero.service': 'no',
      'dynamic.service': 'no',
      'gone.service': 'no',
      'broken.service': 'unknown',
    });
    expect(health.get('cgroup').lastError).toMatch(/broken.service: cannot read .*user-1003.slice.*EISDIR/);
    expect(Object.fromEntries(reader.current())).toEqual(Object.fromEntries(units.map((unit) => [unit, 'no'])));
  });
});
