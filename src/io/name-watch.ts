import { type FSWatcher, watch } from 'chokidar';
import type { Stats } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Which file or directory this is, as a watch sees it: a directory removed and made again may get the
 * same inode number at once (ext4 hands freed numbers out again), never the same birth time.
 */
export function identityOf(info: Stats): string {
  return `${info.dev}:${info.ino}:${info.birthtimeMs}`;
}

/** What a watch of some names reports. */
export interface NameWatchHandlers {
  /** chokidar's event for one of the names or roots: added, changed, removed. */
  readonly onPath: (path: string) => void;
  /**
   * Any inotify event of the watches chokidar set up, with the entry the kernel named (null when it
   * named none). They tell what chokidar's own events do not: the watched directory itself removed or
   * replaced, or a symbolic link on the way to a file (Kubernetes' `..data`) switched to another target.
   */
  readonly onRaw: (name: string | null) => void;
  readonly onError: (error: unknown) => void;
}

/** Event names chokidar emits for files and directories; errors and readiness come separately. */
const PATH_EVENTS = ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const;

/**
 * chokidar on `paths` (directories, or files in directories the process cannot list), told about
 * `names` only: any other entry of those directories is ignored, so it is never watched nor opened.
 * A directory listing stats its entries (lstat, which a directory's search permission allows, so the
 * root-only files beside a flag cause no error) before `ignored` sees them; nothing deeper is read.
 *
 * - ignored: everything but the watched paths and names, called with the path alone first, which is
 *   how chokidar never looks at the parent of a directory that disappears under it
 * - depth 0: the directories' own entries, never a subdirectory
 * - atomic off: an unlink is reported at once, not held 100 ms in case an add follows
 * - awaitWriteFinish off, and usePolling unless asked for: events as inotify delivers them
 * - ignorePermissionErrors: a name the process cannot watch (a 0600 root flag) is still followed
 *   through its directory's listing instead of failing the watch
 * - persistent: chokidar adds its error handler to the inotify handles only for persistent watches;
 *   close() releases them
 *
 * With pollMs, chokidar stats the paths that often instead (usePolling): for files whose directory
 * the process cannot list, where only a stat() of the path sees a link switched or a rename over it.
 *
 * Resolves once the initial scan is done, that is once events are delivered.
 */
export async function watchNames(
  paths: readonly string[],
  names: readonly string[],
  handlers: NameWatchHandlers,
  pollMs?: number,
): Promise<FSWatcher> {
  const roots = new Set(paths.map((path) => resolve(path)));
  const wanted = new Set(names.map((name) => resolve(name)));
  const watcher = watch([...roots], {
    ignored: (path: string) => !roots.has(path) && !wanted.has(path),
    depth: 0,
    atomic: false,
    awaitWriteFinish: false,
    usePolling: pollMs !== undefined,
    ...(pollMs === undefined ? {} : { interval: pollMs, binaryInterval: pollMs }),
    ignoreInitial: true,
    ignorePermissionErrors: true,
    persistent: true,
  });
  for (const event of PATH_EVENTS) watcher.on(event, (path: string) => handlers.onPath(path));
  watcher.on('raw', (_event: string, name: string | null) => handlers.onRaw(name));
  watcher.on('error', handlers.onError);
  await new Promise<void>((ready) => watcher.once('ready', ready));
  return watcher;
}
