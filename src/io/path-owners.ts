import { lstat, realpath } from 'node:fs/promises';

/**
 * Whether what root writes or reads at `path` is root's alone on this host: the path and every
 * directory above it that exists, as written and as its links resolve, owned by root (uid 0) and
 * writable by no one else. A directory with the sticky bit may be writable by all (only an entry's
 * owner may replace it, and the entry is judged itself). A symbolic link's own mode means nothing;
 * its owner does. Returns the first problem from / down, or null. A component that does not exist,
 * or cannot be looked at by this user, is not judged. The same rule and words as config.sh
 * (config_check_path_owners).
 */
export async function pathOwnerProblem(path: string): Promise<string | null> {
  const written = await chainProblem(path, path);
  if (written !== null) return written;
  const deepest = await deepestExisting(path);
  if (deepest === null) return null;
  const real = await realpath(deepest).catch(() => deepest);
  return real === deepest ? null : chainProblem(path, real);
}

/** `/`, `/a`, `/a/b`, ... `path`. */
function chain(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

async function chainProblem(path: string, judged: string): Promise<string | null> {
  for (const component of chain(judged)) {
    const stats = await lstat(component).catch(() => null);
    if (stats === null) continue;
    if (stats.uid !== 0) {
      return `${path}: ${component} is owned by uid ${stats.uid}, not root: that user could replace what root writes or reads there`;
    }
    if (stats.isSymbolicLink() || (stats.isDirectory() && (stats.mode & 0o1000) !== 0)) continue;
    const mode = (stats.mode & 0o7777).toString(8);
    if ((stats.mode & 0o002) !== 0) {
      return `${path}: ${component} is writable by every user (mode ${mode}): anyone could replace what root writes or reads there`;
    }
    if ((stats.mode & 0o020) !== 0 && stats.gid !== 0) {
      return `${path}: ${component} is writable by group ${stats.gid} (mode ${mode}): its members could replace what root writes or reads there`;
    }
  }
  return null;
}

async function deepestExisting(path: string): Promise<string | null> {
  const components = chain(path).reverse();
  for (const component of components) {
    if ((await lstat(component).catch(() => null)) !== null) return component;
  }
  return null;
}
