import { type FSWatcher, lstatSync, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { pathExists } from '../io/path-exists.js';
import type { ReadHealth } from './read-health.js';

const DIRECTORY_POLL_MS = 1000;

/**
 * Presence of the latch flag. A watch on the flag's directory makes ess_active follow the flag within
 * milliseconds; check() re-stats it at every scrape because watch events can be missed (inotify queue
 * overflow, a directory that did not exist yet, a read-only bind mount being replaced).
 *
 * One inotify watch on the directory itself, and only events naming the flag count: nothing else in the
 * directory is ever opened, stat'ed or watched, so the controller's temp and lock files (0600
 * root) cause no read errors. (A per-file watcher such as chokidar adds a watch on every entry, which
 * fails with EACCES on those.)
 */
export class FlagReader {
  readonly #flagFile: string;
  readonly #dir: string;
  readonly #name: string;
  readonly #health: ReadHealth;
  #present: boolean | null = null;
  #redirected = false;
  #watcher: FSWatcher | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(flagFile: string, health: ReadHealth) {
    this.#flagFile = flagFile;
    this.#dir = dirname(flagFile);
    this.#name = basename(flagFile);
    this.#health = health;
  }

  /** null while the flag has never been read successfully. */
  isPresent(): boolean | null {
    return this.#present;
  }

  /**
   * Whether a directory on the way to the flag is a symbolic link (contract section 1): what lies
   * behind it depends on who looks (this process has a private /tmp), so the verdict never counts a
   * flag behind it.
   */
  isRedirected(): boolean {
    return this.#redirected;
  }

  async check(): Promise<boolean | null> {
    try {
      this.#redirected = redirected(this.#dir);
      this.#present = await pathExists(this.#flagFile);
      this.#health.succeeded('flag');
    } catch (error) {
      this.#health.failed('flag', error);
    }
    return this.#present;
  }

  /** Starts the watch; resolves once events will be delivered. */
  async watch(): Promise<void> {
    await this.#startWatcher();
    await this.check();
  }

  async #startWatcher(): Promise<void> {
    if (this.#closed) return;
    const inode = await directoryInode(this.#dir);
    if (inode === null) {
      // Normally tmpfiles creates the directory at boot, before the exporter starts. Until it exists
      // there is nothing to watch: look once a second.
      this.#retry = setTimeout(() => void this.#restartWatcher(), DIRECTORY_POLL_MS);
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(this.#dir, { persistent: false });
    } catch (error) {
      this.#health.failed('flag', new Error(`watch on ${this.#dir} failed`, { cause: error }));
      this.#retry = setTimeout(() => void this.#restartWatcher(), DIRECTORY_POLL_MS);
      return;
    }
    this.#watcher = watcher;
    watcher.on('change', (_event, filename) => {
      if (filename === this.#name) {
        void this.check();
        return;
      }
      // Another entry, no name (a queue overflow) or the directory itself: the watch dies with a
      // removed or replaced directory, which only its inode tells.
      void directoryInode(this.#dir).then((now) => {
        if (this.#watcher !== watcher) return;
        if (now !== inode) void this.#restartWatcher();
        else if (filename === null) void this.check();
      });
    });
    // The directory was removed or replaced (the watch is then dead): wait for it to come back.
    watcher.on('error', () => void this.#restartWatcher());
    watcher.on('close', () => {
      if (this.#watcher === watcher && !this.#closed) void this.#restartWatcher();
    });
  }

  /** A flag created while no watch was set up is caught by the check() after it. */
  async #restartWatcher(): Promise<void> {
    const old = this.#watcher;
    this.#watcher = undefined;
    old?.close();
    clearTimeout(this.#retry);
    await this.#startWatcher();
    await this.check();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.close();
  }
}

/** A component of `dir` (itself included) is a symbolic link; a missing one is not. */
function redirected(dir: string): boolean {
  for (let path = dir; path !== '/' && path !== '.'; path = dirname(path)) {
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true) return true;
  }
  return false;
}

/** null: missing or not a directory. */
async function directoryInode(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? info.ino : null;
  } catch {
    return null;
  }
}
