import { statSync } from 'node:fs';
import type { ReadHealth, ReadSource } from './read-health.js';
import { readBounded } from '../io/read-bounded.js';

export interface JsonFileSpec<T> {
  readonly path: string;
  /** The health source its failures are counted under. */
  readonly source: ReadSource;
  readonly maxBytes: number;
  readonly parse: (text: string) => T;
  /** What a missing file means (the controller has not written it yet: "never"). */
  readonly whenMissing: T;
}

/**
 * One small file the root side writes (state.json, drill.json), looked at every scrape. A missing file
 * is spec.whenMissing; an unreadable or malformed one is a read error and the last good content stays
 * in use. It is read and parsed again only when its identity changed (device, inode, size, modification
 * and change times in nanoseconds): the controller replaces it atomically (a new inode), and a stat
 * costs a fraction of an open, read, parse and check at every scrape.
 */
export class JsonFileReader<T> {
  readonly #spec: JsonFileSpec<T>;
  readonly #health: ReadHealth;
  #value: T | null = null;
  /** The identity of the file the current value was parsed from. */
  #parsedFrom: string | null = null;

  constructor(spec: JsonFileSpec<T>, health: ReadHealth) {
    this.#spec = spec;
    this.#health = health;
  }

  get path(): string {
    return this.#spec.path;
  }

  /** null while the file has never been read successfully. */
  current(): T | null {
    return this.#value;
  }

  async read(): Promise<T | null> {
    const { path, source, maxBytes, parse, whenMissing } = this.#spec;
    try {
      // synchronous and without an exception when missing (see path-exists.ts)
      const info = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (info === undefined) {
        this.#parsedFrom = null;
        this.#value = whenMissing;
        this.#health.succeeded(source);
        return this.#value;
      }
      const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
      if (identity !== this.#parsedFrom) {
        this.#parsedFrom = null;
        this.#value = parse(await readBounded(path, maxBytes));
        this.#parsedFrom = identity;
      }
      this.#health.succeeded(source);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#parsedFrom = null;
        this.#value = whenMissing;
        this.#health.succeeded(source);
      } else {
        this.#health.failed(source, new Error(`cannot use ${path}`, { cause: error }));
      }
    }
    return this.#value;
  }
}
