import type { FSWatcher } from 'chokidar';
import { lstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { identityOf, watchNames } from '../io/name-watch.js';
import { pathExists } from '../io/path-exists.js';
import type { ReadHealth } from './read-health.js';

const DIRECTORY_POLL_MS = 1000;

/**
 * Presence of the latch flag. A watch on the flag's directory makes ess_active follow the flag within
 * milliseconds; check() re-stats it at every scrape because watch events can be missed (inotify queue
 * overflow, a directory that did not exist yet, a read-only bind mount being replaced).
 *
 * chokidar watches the directory for the flag's name only (watchNames): the controller's temp and lock
 * files beside it (0600 root) are never watched nor opened, so they cause no read errors. chokidar
 * does not follow its root directory being removed or replaced, which its raw events show: the
 * directory's identity tells (identityOf), and the watch is set up again.
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
  /** The restart under way: events in a burst (a directory removed) share it. */
  #restarting: Promise<void> | null = null;
  /** Asked again while one ran: its directory may have changed after it looked. */
  #restartAgain = false;

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
    const identity = await directoryIdentity(this.#dir);
    if (this.#closed) return;
    if (identity === null) {
      // Normally tmpfiles creates the directory at boot, before the exporter starts. Until it exists
      // there is nothing to watch: look once a second.
      this.#retry = setTimeout(() => void this.#restartWatcher(), DIRECTORY_POLL_MS);
      return;
    }
    let watcher: FSWatcher | undefined;
    let setupError: unknown = null;
    const current = (): boolean => watcher !== undefined && this.#watcher === watcher;
    try {
      watcher = await watchNames([this.#dir], [this.#flagFile], {
        onPath: () => {
          if (current()) void this.check();
        },
        // The flag's own name: chokidar reports an add or unlink only of an entry its listing knew,
        // and a flag made while the watch was being set up may be missing there; a stat costs little.
        // Another entry, no name (a queue overflow) or the directory itself: the watch dies with a
        // removed or replaced directory, which only its identity tells.
        onRaw: (name) => {
          if (!current()) return;
          if (name === this.#name) void this.check();
          else void this.#recheckDirectory(identity, name === null);
        },
        // no inotify watch to be had (the user's limit reached): counted, and tried again later
        onError: (error) => {
          if (watcher === undefined) setupError ??= error;
          else if (current()) this.#watchFailed(error);
        },
      });
    } catch (error) {
      this.#watchFailed(error);
      return;
    }
    if (this.#closed || setupError !== null) {
      await watcher.close();
      if (setupError !== null && !this.#closed) this.#watchFailed(setupError);
      return;
    }
    this.#watcher = watcher;
    // the directory replaced while chokidar set up its watch
    await this.#recheckDirectory(identity, false);
  }

  #watchFailed(error: unknown): void {
    this.#health.failed('flag', new Error(`watch on ${this.#dir} failed`, { cause: error }));
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#restartWatcher(), DIRECTORY_POLL_MS);
  }

  async #recheckDirectory(identity: string, overflow: boolean): Promise<void> {
    const watcher = this.#watcher;
    const now = await directoryIdentity(this.#dir);
    if (this.#watcher !== watcher || this.#closed) return;
    if (now !== identity) void this.#restartWatcher();
    else if (overflow) await this.check();
  }

  #restartWatcher(): Promise<void> {
    if (this.#restarting !== null) {
      this.#restartAgain = true;
      return this.#restarting;
    }
    this.#restarting = (async () => {
      do {
        this.#restartAgain = false;
        await this.#restart();
      } while (this.#restartAgain && !this.#closed);
    })().finally(() => {
      this.#restarting = null;
    });
    return this.#restarting;
  }

  /** A flag created while no watch was set up is caught by the check() after it. */
  async #restart(): Promise<void> {
    const old = this.#watcher;
    this.#watcher = undefined;
    clearTimeout(this.#retry);
    await old?.close();
    await this.#startWatcher();
    await this.check();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    await watcher?.close();
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
async function directoryIdentity(path: string): Promise<string | null> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? identityOf(info) : null;
  } catch {
    return null;
  }
}
