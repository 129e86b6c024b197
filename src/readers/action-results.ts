import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionResult } from '../contract/types.generated.js';
import { validateActionResult } from '../contract/validators.generated.js';
import { describe, type Log } from '../io/log.js';
import { ChangedFile } from '../io/changed-file.js';
import { parseJsonObject, requireSchema, schemaError } from './json-fields.js';

export type { ActionResult };
export { ACTION_RESULTS } from '../contract/values.generated.js';

/** In STATE_DIR: one file per on-trip action, NAME.json (contract/README.md section 9). */
export const ACTION_RESULTS_DIR = 'actions';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.json$/;
// the controller writes well under 8 KiB (10 escaped lines of a 4 KiB tail); a directory of
// hundreds of actions is not one an operator made
const MAX_BYTES = 64 * 1024;
const MAX_FILES = 64;

/** Parses one result file: the contract's schema 1, or refused with the reason. */
export function parseActionResult(text: string): ActionResult {
  const root = parseJsonObject(text);
  requireSchema(root, 1, 'ess_controller.sh action-result');
  if (!validateActionResult(root)) throw schemaError(validateActionResult);
  return root;
}

/**
 * The last result of every on-trip action, looked at every scrape (each file read again only when it changed). No directory (no action ever
 * ran) is no result; a file that cannot be used is left out and logged when the problem changes, so
 * a broken file never shows as a success.
 */
export class ActionResultsReader {
  readonly #dir: string;
  /** The result files last listed, each read again only when it changed. */
  readonly #files = new Map<string, ChangedFile<ActionResult>>();
  #current: readonly ActionResult[] = [];
  #problem = '';

  constructor(
    stateDir: string,
    private readonly log: Log,
  ) {
    this.#dir = join(stateDir, ACTION_RESULTS_DIR);
  }

  current(): readonly ActionResult[] {
    return this.#current;
  }

  async read(): Promise<void> {
    const problems: string[] = [];
    let names: string[] = [];
    try {
      // synchronous: the directory is nearly always missing (no action configured), and an
      // asynchronous readdir that fails costs a thread-pool round trip and an Error at every scrape
      if (statSync(this.#dir, { throwIfNoEntry: false }) !== undefined) names = readdirSync(this.#dir).filter((name) => NAME.test(name)).sort().slice(0, MAX_FILES);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(describe(new Error(`cannot list ${this.#dir}`, { cause: error })));
    }
    for (const name of this.#files.keys()) if (!names.includes(name)) this.#files.delete(name);
    const results = await Promise.all(
      names.map(async (name) => {
        const file = this.#files.get(name) ?? new ChangedFile(join(this.#dir, name), MAX_BYTES, parseActionResult);
        this.#files.set(name, file);
        try {
          return (await file.read()) ?? null;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(describe(new Error(`cannot use ${file.path}`, { cause: error })));
          return null;
        }
      }),
    );
    this.#current = results.filter((result): result is ActionResult => result !== null);
    const problem = problems.join('; ');
    if (problem !== '' && problem !== this.#problem) this.log(`on-trip actions: ${problem}`, 'warning');
    this.#problem = problem;
  }
}
