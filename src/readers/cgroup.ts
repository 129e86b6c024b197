import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathExists } from '../io/path-exists.js';
import type { ReadHealth } from './read-health.js';
import { uidOfUser, userSliceOf } from './user-slice.js';

/** Whether a unit's cgroup holds processes (its whole subtree); `unknown` when that cannot be read. */
export type Populated = 'yes' | 'no' | 'unknown';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Whether each unit's cgroup holds processes, from `cgroup.events` of the unified (cgroup2) hierarchy:
 * `populated` covers the whole subtree, so it also sees what ActiveState misses (processes left behind
 * by KillMode=process, double forks, delegated sub-cgroups). The same for the slice of each unit's
 * User= (user-slice.ts): where its helpers land when they leave the unit. Read at every refresh: a few
 * small files, however many processes they hold.
 */
export class CgroupReader {
  readonly #root: string;
  readonly #health: ReadHealth;
  readonly #passwdFile: string;
  #populated: ReadonlyMap<string, Populated> = new Map();
  #userSlices: ReadonlyMap<string, Populated> = new Map();

  constructor(root: string, health: ReadHealth, passwdFile = '/etc/passwd') {
    this.#root = root;
    this.#health = health;
    this.#passwdFile = passwdFile;
  }

  /** Units not read yet are missing (the verdict takes them as unknown). */
  current(): ReadonlyMap<string, Populated> {
    return this.#populated;
  }

  /** Whether each unit's user's slice holds processes; units not read yet are missing. */
  currentUserSlices(): ReadonlyMap<string, Populated> {
    return this.#userSlices;
  }

  /**
   * controlGroups: unit -> its ControlGroup property (empty when systemd gave it none); users: unit ->
   * its User= (empty or missing: root). Never rejects.
   */
  async read(controlGroups: ReadonlyMap<string, string>, users: ReadonlyMap<string, string> = new Map()): Promise<ReadonlyMap<string, Populated>> {
    const problems: Error[] = [];
    let hierarchy: string | null = null;
    try {
      hierarchy = await unifiedHierarchy(this.#root);
      if (hierarchy === null) problems.push(new Error(`no unified (cgroup2) hierarchy at ${this.#root} or ${this.#root}/unified`));
    } catch (error) {
      problems.push(error as Error);
    }
    const judge = (unit: string, cgroup: string | null): Populated => {
      if (cgroup === null) return 'no';
      const result = hierarchy === null ? 'unknown' : populatedOf(hierarchy, cgroup);
      if (result instanceof Error) problems.push(new Error(`${unit}: ${result.message}`, { cause: result }));
      return result instanceof Error ? 'unknown' : result;
    };
    this.#populated = new Map([...controlGroups].map(([unit, controlGroup]) => [unit, judge(unit, controlGroup)] as const));
    const passwd = this.#passwdReader(problems);
    this.#userSlices = new Map(
      [...controlGroups.keys()].map((unit) => [unit, judge(unit, userSliceOf(uidOfUser(users.get(unit) ?? '', passwd)))] as const),
    );
    const [first] = problems;
    if (first === undefined) this.#health.succeeded('cgroup');
    else this.#health.failed('cgroup', new Error(`trading unit cgroups unknown: ${problems.map((p) => p.message).join('; ')}`, { cause: first }));
    return this.#populated;
  }

  /** The passwd text, read at most once per refresh and only for a User= given by name. */
  #passwdReader(problems: Error[]): () => string {
    let text: string | undefined;
    return () => {
      if (text !== undefined) return text;
      try {
        text = readFileSync(this.#passwdFile, 'utf8');
      } catch (error) {
        problems.push(new Error(`cannot read ${this.#passwdFile}`, { cause: error }));
        text = '';
      }
      return text;
    };
  }
}

/** The cgroup2 mount: the root itself on a unified host, `unified/` on a hybrid one, else null. */
async function unifiedHierarchy(root: string): Promise<string | null> {
  for (const candidate of [root, join(root, 'unified')]) {
    if (await pathExists(join(candidate, 'cgroup.controllers'))) return candidate;
  }
  return null;
}

/** An Error (not thrown: the other units are still read) when the file exists but cannot be used. */
function populatedOf(hierarchy: string, controlGroup: string): Populated | Error {
  if (controlGroup === '') return 'no';
  const events = join(hierarchy, controlGroup, 'cgroup.events');
  let text: string;
  try {
    // cgroupfs answers from memory: a synchronous read is a few microseconds, where an asynchronous
    // one is four thread-pool round trips (open, stat, read, close) per unit and scrape.
    text = readFileSync(events, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // systemd removes the cgroup of a unit that went down: nothing of it can run.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'no';
    return new Error(`cannot read ${events}`, { cause: error });
  }
  const match = /^populated ([01])$/m.exec(text);
  if (!match) return new Error(`${events} has no "populated 0|1" line`);
  return match[1] === '1' ? 'yes' : 'no';
}
