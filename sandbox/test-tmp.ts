// Where the tests' fake hosts live. Not under /tmp, /var/tmp or /dev/shm: ess.conf refuses a latch flag
// there (any user could create its directory first), and a fake host's flag lies inside. In the
// checkout (ignored by git), so that any user running the tests can write it; when the checkout itself
// lies in one of those places (a CI clone in /tmp), in /var/lib for root (reachable by the tests that
// switch to an unprivileged user) or in the user's cache directory.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

const SHARED_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];

function isShared(path: string): boolean {
  return SHARED_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

function testTmpRoot(): string {
  const elsewhere = process.getuid?.() === 0 ? '/var/lib/quantum-ess-tests' : join(homedir(), '.cache', 'quantum-ess-tests');
  const candidates = [join(import.meta.dirname, '..', '.test-tmp'), elsewhere];
  const root = candidates.find((path) => !isShared(path));
  if (root === undefined) throw new Error(`no place for test files outside ${SHARED_DIRS.join(', ')}: tried ${candidates.join(', ')}`);
  return root;
}

export const TEST_TMP_ROOT = testTmpRoot();

/** A new directory for one fake host or root side, like mkdtemp(join(tmpdir(), prefix)). */
export async function testTmpDir(prefix: string): Promise<string> {
  await mkdir(TEST_TMP_ROOT, { recursive: true, mode: 0o755 });
  return mkdtemp(join(TEST_TMP_ROOT, prefix));
}
