import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from './config-error.js';

/** Reads typed members of one mapping of the file, each refused with its full key named. */
export class Section {
  readonly #values: Record<string, unknown>;

  constructor(
    readonly file: string,
    readonly path: string,
    value: unknown,
    known: readonly string[],
  ) {
    if (value === null || value === undefined) value = {};
    if (typeof value !== 'object' || Array.isArray(value)) throw this.error('', 'is not a mapping');
    this.#values = value as Record<string, unknown>;
    const unknown = Object.keys(this.#values).find((key) => !known.includes(key));
    if (unknown !== undefined) throw this.error(unknown, `unknown key (known: ${known.join(', ')})`);
  }

  key(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  error(name: string, problem: string): ConfigError {
    return new ConfigError(this.file, name === '' ? this.path || '(top level)' : this.key(name), problem);
  }

  /** The keys present; a section of free keys (user names) is built with known = its own keys. */
  keys(): string[] {
    return Object.keys(this.#values);
  }

  raw(name: string): unknown {
    return this.#values[name];
  }

  /** A string, or undefined when absent or empty (exporter-toolkit treats "" as not set). */
  string(name: string): string | undefined {
    const value = this.#values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw this.error(name, `${JSON.stringify(value)} is not a string`);
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.#values[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw this.error(name, `${JSON.stringify(value)} is not true or false`);
    return value;
  }

  strings(name: string): readonly string[] | undefined {
    const value = this.#values[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.error(name, 'is not a list of strings');
    return value as string[];
  }

  /** A path relative to the file's directory, as exporter-toolkit resolves it. */
  filePath(name: string): string | undefined {
    const value = this.string(name);
    return value === undefined || isAbsolute(value) ? value : join(dirname(this.file), value);
  }
}
