import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { pathExists } from './path-exists.js';
import type { ReadHealth } from './read-health.js';

const DIRECTORY_POLL_MS = 1000;

/**
 * Presence of the latch flag. A watch on the flag's directory makes ess_active follow the flag within
 * milliseconds; check() re-stats it at every scrape because watch events can be missed (inotify queue
 * overflow, a directory that did not exist yet, a read-only bind mount being replaced).
 */
export class FlagReader {
  readonly #flagFile: string;
  readonly #dir: string;
  readonly #name: string;
  readonly #health: ReadHealth;
  readonly #onChange: () => void;
  #present: boolean | null = null;
  #watcher: FSWatcher | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  /** onChange runs whenever the flag appears or disappears (not on the first read). */
  constructor(flagFile: string, health: ReadHealth, onChange: () => void = () => {}) {
    this.#flagFile = flagFile;
    this.#dir = dirname(flagFile);
    this.#name = basename(flagFile);
    this.#health = health;
    this.#onChange = onChange;
  }

  /** null while the flag has never been read successfully. */
  isPresent(): boolean | null {
    return this.#present;
  }

  async check(): Promise<boolean | null> {
    const before = this.#present;
    try {
      this.#present = await pathExists(this.#flagFile);
      this.#health.succeeded('flag');
    } catch (error) {
      this.#health.failed('flag', error);
    }
    if (before !== null && before !== this.#present) this.#onChange();
    return this.#present;
  }

  /** Starts the watch; resolves once events will be delivered. */
  async watch(): Promise<void> {
    await this.#startWatcher();
    await this.check();
  }

  async #startWatcher(): Promise<void> {
    if (this.#closed) return;
    if (!(await isDirectory(this.#dir))) {
      // Normally tmpfiles creates the directory at boot, before the exporter starts. Until it exists
      // there is nothing to watch (chokidar's own wait for it is unreliable): look once a second.
      this.#retry = setTimeout(() => void this.#restartWatcher(), DIRECTORY_POLL_MS);
      return;
    }
    // atomic:false: chokidar would otherwise hold back an unlink for 100 ms to merge editor-style saves.
    const watcher = watch(this.#dir, { ignoreInitial: true, depth: 0, atomic: false });
    this.#watcher = watcher;
    watcher.on('all', (event, path) => {
      if (path === this.#dir || basename(path) === this.#name) void this.check();
      if (path === this.#dir && event === 'unlinkDir') void this.#restartWatcher();
    });
    watcher.on('error', (error) => this.#health.failed('flag', new Error(`watch on ${this.#dir} failed`, { cause: error })));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
  }

  /** A flag created while no watch was set up is caught by the check() after it. */
  async #restartWatcher(): Promise<void> {
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#startWatcher();
    await this.check();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#watcher?.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
