/**
 * The switch's wiring as systemd has loaded it (contract/README.md section 1, "the switch as
 * installed"), in the contract's text forms: what the D-Bus watch reads after every daemon-reload, and
 * the bounded systemctl/busctl poll while the bus is unavailable.
 */
import type { Variant } from '@jellybrick/dbus-next';
import { CachedRun } from './cached-run.js';
import { unitObjectPath } from './asserts.js';
import type { ReadHealth } from './read-health.js';
import { runBounded } from '../io/run-bounded.js';
import { cEscape } from './c-escape.js';
import type { UnitProperties } from './ess-units.js';

/** The properties `systemctl show` gives (lists joined by one space). */
export const WIRING_SHOW_PROPERTIES = ['LoadState', 'FragmentPath', 'DropInPaths', 'Triggers'] as const;

/** The property busctl (or D-Bus) gives per unit type: its interface and name. */
export function busProperty(unit: string): { readonly iface: string; readonly name: 'Paths' | 'ExecStart' } {
  return unit.endsWith('.path')
    ? { iface: 'org.freedesktop.systemd1.Path', name: 'Paths' }
    : { iface: 'org.freedesktop.systemd1.Service', name: 'ExecStart' };
}

const quoted = (text: string): string => `"${cEscape(text)}"`;

/** `Paths` (`a(ss)`) as busctl prints it; undefined when the value is not of that type. */
export function formatPaths(variant: Variant | undefined): string | undefined {
  if (variant?.signature !== 'a(ss)' || !Array.isArray(variant.value)) return undefined;
  const parts = [`a(ss) ${variant.value.length}`];
  for (const entry of variant.value as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') return undefined;
    parts.push(`${quoted(entry[0])} ${quoted(entry[1])}`);
  }
  return parts.join(' ');
}

/**
 * `ExecStart` (`a(sasbttttuii)`) as busctl prints it, each command cut to its path and argv: the ignore
 * flag, timestamps, pid and exit status change with every run.
 */
export function formatExecStart(variant: Variant | undefined): string | undefined {
  if (variant?.signature !== 'a(sasbttttuii)' || !Array.isArray(variant.value)) return undefined;
  const parts = [`a(sasbttttuii) ${variant.value.length}`];
  for (const entry of variant.value as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) return undefined;
    const argv = entry[1] as unknown[];
    if (!argv.every((arg): arg is string => typeof arg === 'string')) return undefined;
    parts.push([quoted(entry[0]), String(argv.length), ...argv.map(quoted)].join(' '));
  }
  return parts.join(' ');
}

/** The same cut on busctl's text, as deploy/lib/wiring.sh makes it; text that does not parse is kept. */
export function execStartFromBusctl(text: string): string {
  const str = '"(?:[^"\\\\]|\\\\.)*"';
  const head = /^a\(sasbttttuii\) (\d+)/.exec(text);
  if (head === null) return text;
  let rest = text.slice(head[0].length);
  const parts = [head[0]];
  for (let i = 0; i < Number(head[1]); i++) {
    const cmd = new RegExp(`^ (${str}) (\\d+)`).exec(rest);
    if (cmd === null) return text;
    parts.push(`${cmd[1]} ${cmd[2]}`);
    rest = rest.slice(cmd[0].length);
    for (let j = 0; j < Number(cmd[2]); j++) {
      const arg = new RegExp(`^ (${str})`).exec(rest);
      if (arg === null) return text;
      parts.push(arg[1] ?? '');
      rest = rest.slice(arg[0].length);
    }
    const runtime = /^ (?:true|false)(?: -?\d+){7}/.exec(rest);
    if (runtime === null) return text;
    rest = rest.slice(runtime[0].length);
  }
  return rest === '' ? parts.join(' ') : text;
}

/** The poll reads the wiring at most this often. */
export const WIRING_POLL_MS = 5_000;

/** How long a unit's Paths/ExecStart read is reused while its systemctl part stays the same. */
export const BUS_REREAD_MS = 30_000;

export interface WiringPollOptions {
  readonly systemctlPath: string;
  readonly busctlPath: string;
  readonly timeoutMs: number;
  readonly cacheMs: number;
  readonly units: readonly string[];
}

/**
 * The wiring while the bus is unavailable: one bounded `systemctl show` of every wiring unit and one
 * bounded busctl per loaded unit, cached like the unit states. A property that could not be read is
 * left out (the contract's "not read": unknown), never kept from an earlier read.
 */
export class WiringPoll {
  readonly #options: WiringPollOptions;
  readonly #health: ReadHealth;
  readonly #cache: CachedRun;
  readonly #now: () => number;
  #wiring: ReadonlyMap<string, UnitProperties> = new Map();
  /** The last Paths/ExecStart read of each unit, with the systemctl part it was read under. */
  readonly #busReads = new Map<string, { readonly key: string; readonly text: string; readonly at: number }>();

  constructor(options: WiringPollOptions, health: ReadHealth, now: () => number = Date.now) {
    this.#options = options;
    this.#health = health;
    this.#now = now;
    // the wiring changes only on a daemon-reload: a scrape-rate poll of it would only add processes
    this.#cache = new CachedRun(() => this.#run(), Math.max(options.cacheMs, WIRING_POLL_MS), now);
  }

  current(): ReadonlyMap<string, UnitProperties> {
    return this.#wiring;
  }

  /** The next refresh runs systemctl (and every busctl) again. */
  invalidate(): void {
    this.#cache.invalidate();
    this.#busReads.clear();
  }

  async refresh(): Promise<ReadonlyMap<string, UnitProperties>> {
    await this.#cache.refresh();
    return this.#wiring;
  }

  /** A unit's Paths or ExecStart into `properties`, remembered with the systemctl part it was read under. */
  async #readBus(unit: string, properties: Map<string, string>, now: number): Promise<void> {
    const { iface, name } = busProperty(unit);
    const key = JSON.stringify([...properties]);
    this.#busReads.delete(unit);
    try {
      const args = ['get-property', 'org.freedesktop.systemd1', unitObjectPath(unit), iface, name];
      const raw = (await runBounded(this.#options.busctlPath, args, this.#options.timeoutMs)).replace(/\n$/, '');
      const text = name === 'ExecStart' ? execStartFromBusctl(raw) : raw;
      properties.set(name, text);
      this.#busReads.set(unit, { key, text, at: now });
    } catch (error) {
      this.#health.failed('asserts', new Error(`cannot read ${name} of ${unit}`, { cause: error }));
    }
  }

  async #run(): Promise<void> {
    const { systemctlPath, timeoutMs, units } = this.#options;
    let shown: Map<string, Map<string, string>>;
    try {
      const output = await runBounded(systemctlPath, ['show', '--no-pager', `--property=${WIRING_SHOW_PROPERTIES.join(',')}`, '--', ...units], timeoutMs);
      shown = parseWiringShow(output, units);
    } catch (error) {
      this.#wiring = new Map();
      this.#health.failed('asserts', new Error('cannot read the wiring of the switch units', { cause: error }));
      return;
    }
    // At most BUS_LANES busctl at a time: a burst of eight processes on top of the unit states' own
    // would make all of them slower than their bound on a busy host, and a hung bus costs at most two
    // bounds. The wiring changes only on a daemon-reload, and most changes show in the systemctl part
    // already: a unit's Paths or ExecStart is read again when that part changed, else every
    // BUS_REREAD_MS.
    const now = this.#now();
    const pending = [...shown].filter(([unit, properties]) => {
      if (properties.get('LoadState') !== 'loaded') return false;
      const last = this.#busReads.get(unit);
      if (last === undefined || last.key !== JSON.stringify([...properties]) || now - last.at >= BUS_REREAD_MS) return true;
      properties.set(busProperty(unit).name, last.text);
      return false;
    });
    const lane = async (): Promise<void> => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) await this.#readBus(...next, now);
    };
    await Promise.all(Array.from({ length: BUS_LANES }, lane));
    this.#wiring = shown;
  }
}

/** How many busctl runs of the poll may run at once. */
const BUS_LANES = 4;

/** One block per unit, in argument order (as systemctl prints them). */
export function parseWiringShow(output: string, units: readonly string[]): Map<string, Map<string, string>> {
  const blocks = output.replace(/\r/g, '').split(/\n[ \t]*\n/).filter((block) => block.trim() !== '');
  if (blocks.length !== units.length) throw new Error(`expected ${units.length} property blocks, got ${blocks.length}`);
  const result = new Map<string, Map<string, string>>();
  blocks.forEach((block, index) => {
    const properties = new Map<string, string>();
    for (const line of block.trim().split('\n')) {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      if (eq > 0 && (WIRING_SHOW_PROPERTIES as readonly string[]).includes(key)) properties.set(key, line.slice(eq + 1));
    }
    result.set(units[index] ?? '', properties);
  });
  return result;
}
