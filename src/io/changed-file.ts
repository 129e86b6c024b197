import { statSync } from 'node:fs';
import { readBounded } from './read-bounded.js';

/**
 * A small file the root side writes, looked at every scrape and read and parsed again only when its
 * identity changed (device, inode, size, modification and change times in nanoseconds). The root side
 * replaces its files atomically (a new inode), and a synchronous stat (no Error when the file is
 * missing) costs a fraction of an open, stat, read and close through the thread pool and a parse.
 */
export class ChangedFile<T> {
  /** The identity of the file the current value was parsed from. */
  #parsedFrom: string | null = null;
  #value: T | undefined;

  constructor(
    readonly path: string,
    readonly maxBytes: number,
    readonly parse: (text: string) => T,
  ) {}

  /**
   * The parsed content, undefined when the file is missing. A file that cannot be read or parsed
   * throws (ENOENT included, when it went away after the stat), and is read again the next time.
   */
  async read(): Promise<T | undefined> {
    const info = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    if (info === undefined) {
      this.#parsedFrom = null;
      this.#value = undefined;
      return undefined;
    }
    const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    if (identity !== this.#parsedFrom) {
      this.#parsedFrom = null;
      this.#value = this.parse(await readBounded(this.path, this.maxBytes));
      this.#parsedFrom = identity;
    }
    return this.#value;
  }
}
