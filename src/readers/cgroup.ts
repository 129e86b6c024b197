import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathExists } from '../io/path-exists.js';
import type { ReadHealth } from './read-health.js';

/** Whether a unit's cgroup holds processes (its whole subtree); `unknown` when that cannot be read. */
export type Populated = 'yes' | 'no' | 'unknown';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Whether each unit's cgroup holds processes, from `cgroup.events` of the unified (cgroup2) hierarchy:
 * `populated` covers the whole subtree, so it also sees what ActiveState misses (processes left behind
 * by KillMode=process, double forks, delegated sub-cgroups). Read at every refresh: a few small files.
 */
export class CgroupReader {
  readonly #root: string;
  readonly #health: ReadHealth;
  #populated: ReadonlyMap<string, Populated> = new Map();

  constructor(root: string, health: ReadHealth) {
    this.#root = root;
    this.#health = health;
  }

  /** Units not read yet are missing (the verdict takes them as unknown). */
  current(): ReadonlyMap<string, Populated> {
    return this.#populated;
  }

  /** controlGroups: unit -> its ControlGroup property (empty when systemd gave it none). Never rejects. */
  async read(controlGroups: ReadonlyMap<string, string>): Promise<ReadonlyMap<string, Populated>> {
    const problems: Error[] = [];
    let hierarchy: string | null = null;
    try {
      hierarchy = await unifiedHierarchy(this.#root);
      if (hierarchy === null) problems.push(new Error(`no unified (cgroup2) hierarchy at ${this.#root} or ${this.#root}/unified`));
    } catch (error) {
      problems.push(error as Error);
    }
    const populated = new Map<string, Populated>();
    await Promise.all(
      [...controlGroups].map(async ([unit, controlGroup]) => {
        const result = hierarchy === null ? 'unknown' : await populatedOf(hierarchy, controlGroup);
        if (result instanceof Error) problems.push(new Error(`${unit}: ${result.message}`, { cause: result }));
        populated.set(unit, result instanceof Error ? 'unknown' : result);
      }),
    );
    this.#populated = populated;
    const [first] = problems;
    if (first === undefined) this.#health.succeeded('cgroup');
    else this.#health.failed('cgroup', new Error(`trading unit cgroups unknown: ${problems.map((p) => p.message).join('; ')}`, { cause: first }));
    return populated;
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
async function populatedOf(hierarchy: string, controlGroup: string): Promise<Populated | Error> {
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

