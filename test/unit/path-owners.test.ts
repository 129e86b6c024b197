// check-config on both sides judges the path keys of ess.conf on this host: a path, or a directory
// above it, that a non-root user owns or may write is refused, naming the key, in the same words.
// Host state, so made for real: a directory of the test's own (root's when the tests run as root,
// given to nobody or opened up per case; the runner's own otherwise, which is the first case).
import { chmod, chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testTmpDir } from '../../sandbox/test-tmp.js';

const REPO = join(import.meta.dirname, '../..');
const MAIN = join(REPO, 'src/main.ts');
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
let dir: string;

beforeEach(async () => {
  dir = await testTmpDir('owners-');
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'state'), { mode: 0o755 });
  await writeFile(join(dir, 'ess.conf'), `STATE_DIR=${dir}/state\n`);
  await writeFile(join(dir, 'exporter.json'), JSON.stringify({ listen: '127.0.0.1:0', ess_config_file: join(dir, 'ess.conf') }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Both verdicts: the exit code and the config error line (without the program's prefix), or ''. */
async function verdicts(): Promise<{ controller: [number, string]; exporter: [number, string] }> {
  const conf = join(dir, 'ess.conf');
  const ctl = await execa('bash', [join(REPO, 'deploy/ess_controller.sh'), 'check-config', conf], { reject: false });
  const exp = await execa('node', ['--import', 'tsx', MAIN, '--config', join(dir, 'exporter.json'), '--check-config'], { reject: false, timeout: 20_000 });
  const said = (stderr: string): string => /config error in .*/.exec(stderr)?.[0] ?? '';
  return { controller: [ctl.exitCode ?? -1, said(ctl.stderr)], exporter: [exp.exitCode ?? -1, said(exp.stderr)] };
}

async function expectRefused(component: string, words: string): Promise<void> {
  const { controller, exporter } = await verdicts();
  const line = `config error in ${join(dir, 'ess.conf')}: STATE_DIR: ${dir}/state: ${component} ${words}`;
  expect(controller).toEqual([78, expect.stringContaining(line)]);
  expect(exporter).toEqual(controller);
}

describe('check-config on both sides: the path keys are root\'s alone on this host', () => {
  it('refuses STATE_DIR owned by a user other than root', async () => {
    if (AS_ROOT) await chown(join(dir, 'state'), NOBODY, NOBODY);
    const owner = AS_ROOT ? NOBODY : process.getuid?.();
    const first = AS_ROOT ? join(dir, 'state') : undefined;
    const { controller, exporter } = await verdicts();
    expect(controller[0]).toBe(78);
    expect(controller[1]).toMatch(new RegExp(`STATE_DIR: ${dir}/state: ${first ?? '/\\S*'} is owned by uid ${owner}, not root: that user could replace what root writes or reads there`));
    expect(exporter).toEqual(controller);
  });

  // the tree must be root's for these (test/run-all.sh runs the tiers as root)
  it.runIf(AS_ROOT)('refuses a directory above it that every user, or a group other than root, may write; accepts a sticky one and root-only ones', async () => {
    expect(await verdicts()).toMatchObject({ controller: [0, ''], exporter: [0, ''] });
    await chmod(dir, 0o777);
    await expectRefused(dir, 'is writable by every user (mode 777): anyone could replace what root writes or reads there');
    await chmod(dir, 0o775);
    await chown(dir, 0, NOBODY);
    await expectRefused(dir, `is writable by group ${NOBODY} (mode 775): its members could replace what root writes or reads there`);
    await chown(dir, 0, 0);
    await chmod(dir, 0o1777);
    expect(await verdicts()).toMatchObject({ controller: [0, ''], exporter: [0, ''] });
  });

  it.runIf(AS_ROOT)('judges where a link leads: STATE_DIR through a root-owned link into a user\'s directory is refused', async () => {
    await mkdir(join(dir, 'users', 'state'), { recursive: true });
    await chown(join(dir, 'users'), NOBODY, NOBODY);
    await rm(join(dir, 'state'), { recursive: true });
    await symlink(join(dir, 'users', 'state'), join(dir, 'state'));
    await expectRefused(join(dir, 'users'), `is owned by uid ${NOBODY}, not root: that user could replace what root writes or reads there`);
  });
});
