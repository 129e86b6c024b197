import type { ReadHealth, ReadSource } from './read-health.js';
import { ChangedFile } from '../io/changed-file.js';

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
 * One small file the root side writes (state.json, drill.json), looked at every scrape (ChangedFile:
 * read and parsed again only when it changed). A missing file is spec.whenMissing; an unreadable or
 * malformed one is a read error and the last good content stays in use.
 */
export class JsonFileReader<T> {
  readonly #spec: JsonFileSpec<T>;
  readonly #file: ChangedFile<T>;
  readonly #health: ReadHealth;
  #value: T | null = null;

  constructor(spec: JsonFileSpec<T>, health: ReadHealth) {
    this.#spec = spec;
    this.#file = new ChangedFile(spec.path, spec.maxBytes, spec.parse);
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
    const { path, source, whenMissing } = this.#spec;
    try {
      this.#value = (await this.#file.read()) ?? whenMissing;
      this.#health.succeeded(source);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#value = whenMissing;
        this.#health.succeeded(source);
      } else {
        this.#health.failed(source, new Error(`cannot use ${path}`, { cause: error }));
      }
    }
    return this.#value;
  }
}
