// Where the tests' fake hosts live. Not under /tmp, /var/tmp or /dev/shm: ess.conf refuses a latch flag
// there (any user could create its directory first), and a fake host's flag lies inside. In the
// checkout (ignored by git), so that any user running the tests can write it.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';

export const TEST_TMP_ROOT = join(import.meta.dirname, '..', '.test-tmp');

/** A new directory for one fake host or root side, like mkdtemp(join(tmpdir(), prefix)). */
export async function testTmpDir(prefix: string): Promise<string> {
  await mkdir(TEST_TMP_ROOT, { recursive: true, mode: 0o755 });
  return mkdtemp(join(TEST_TMP_ROOT, prefix));
}
