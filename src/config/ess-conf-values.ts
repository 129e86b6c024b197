/**
 * The value rules of ess.conf (contract/README.md section 2). Each rule returns the normalised value or
 * throws a ValueProblem; ess-conf.ts adds the file and the key. deploy/lib/config.sh implements the
 * same rules, and test/contract feeds both the same files.
 */

/** Why a value was refused, without the file and key (the caller knows them). */
export class ValueProblem extends Error {
  override name = 'ValueProblem';
}

/**
 * systemd's unit type suffixes. A name ending in one of them has that type; any other name is a
 * service (`quantum-ai-engine` -> `quantum-ai-engine.service`, `trader.eu` -> `trader.eu.service`).
 */
const UNIT_TYPES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'] as const;
export const TRADING_UNIT_TYPES: readonly string[] = ['service'];
export const MONITOR_UNIT_TYPES: readonly string[] = ['service', 'socket', 'timer', 'target', 'mount', 'path', 'slice', 'scope'];

// An instance (`name@instance`) is fine; a template (`name@`) is not a unit that can run.
// The first character is never '-' or '.': a name must not look like an option to systemctl. The last
// is never '-': systemd applies a "name-.service.d" drop-in to every unit whose name starts with name-.
const UNIT_STEM = /^[A-Za-z0-9_:]([A-Za-z0-9_.:-]*[A-Za-z0-9_.:])?(@[A-Za-z0-9_.:-]*[A-Za-z0-9_.:])?$/;
/** systemd's UNIT_NAME_MAX is 256 bytes with the terminating NUL. */
const UNIT_NAME_MAX = 255;

/** One unit name, normalised to carry its type suffix. */
export function unitName(name: string, allowedTypes: readonly string[]): string {
  const type = UNIT_TYPES.find((candidate) => name.endsWith(`.${candidate}`));
  const stem = type === undefined ? name : name.slice(0, -(type.length + 1));
  if (type !== undefined && !allowedTypes.includes(type)) {
    throw new ValueProblem(`'${name}': only ${allowedTypes.map((t) => `.${t}`).join(' ')} units are allowed here`);
  }
  if (!UNIT_STEM.test(stem)) {
    throw new ValueProblem(
      stem.endsWith('@') ? `'${name}' is a template, not a unit (give an instance: name@instance)` : `'${name}' is not a valid unit name`,
    );
  }
  const full = `${stem}.${type ?? 'service'}`;
  if (full.length > UNIT_NAME_MAX) throw new ValueProblem(`'${full.slice(0, 40)}...' is longer than ${UNIT_NAME_MAX} characters`);
  return full;
}

/** A blank-separated list of unit names, normalised, without duplicates (compared after normalising). */
export function unitList(value: string, allowedTypes: readonly string[]): string[] {
  const units: string[] = [];
  for (const name of value.split(/[ \t]+/).filter((word) => word !== '')) {
    const unit = unitName(name, allowedTypes);
    if (units.includes(unit)) throw new ValueProblem(`${unit} is listed twice`);
    units.push(unit);
  }
  return units;
}

// Components of [A-Za-z0-9._-] only: keeps %, &, \, blanks and quotes out of unit files and sed.
const PATH = /^(\/[A-Za-z0-9._-]+)+$/;

/** An absolute path of at least two components (a file in a directory other than /). */
export function path(value: string): string {
  if (!PATH.test(value)) {
    throw new ValueProblem(`'${value}' is not an absolute path of /-separated [A-Za-z0-9._-] components without a trailing /`);
  }
  const components = value.split('/').slice(1);
  if (components.some((component) => component === '.' || component === '..')) {
    throw new ValueProblem(`'${value}' has a . or .. component`);
  }
  if (components.length < 2) throw new ValueProblem(`'${value}' must have at least two components (a file in a directory other than /)`);
  return value;
}

/** /var/run is a link to /run; systemd wants the canonical spelling in unit files. */
export function canonicalRun(value: string): string {
  return value.startsWith('/var/run/') ? value.slice('/var'.length) : value;
}

/** Whether `inner` is `outer` itself or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

const SECONDS = /^([0-9]{1,6})(?:\.([0-9]{1,6}))?$/;

/**
 * Seconds as integer microseconds, so that ranges compare exactly (0.1 is not a binary fraction) and
 * the bash side can do the same with integer arithmetic.
 */
export function microseconds(value: string): number {
  const match = SECONDS.exec(value);
  if (!match) throw new ValueProblem(`'${value}' is not a number of seconds (digits, optionally . and up to 6 decimals)`);
  const [, whole = '', fraction = ''] = match;
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

/** Seconds within [min, max] (given as written in the contract); returns the value as written. */
export function seconds(value: string, min: string, max: string): string {
  const us = microseconds(value);
  if (us < microseconds(min) || us > microseconds(max)) {
    throw new ValueProblem(`'${value}' is out of range: ${min} to ${max} seconds`);
  }
  return value;
}

/** Whole seconds within [min, max]; leading zeros are decimal, not octal. Returns the value without them. */
export function wholeSeconds(value: string, min: number, max: number): string {
  if (!/^[0-9]{1,6}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ValueProblem(`'${value}' is not a whole number of seconds from ${min} to ${max}`);
  }
  return String(Number(value));
}

/**
 * A systemd OnCalendar= expression, or empty for "off". Only its characters are checked here (the
 * installer asks systemd-analyze calendar): they keep it a single, inert value in a timer drop-in.
 */
export function onCalendar(value: string): string {
  if (!/^[A-Za-z0-9 *:,./~-]{0,64}$/.test(value)) {
    throw new ValueProblem(`'${value}' is not an OnCalendar expression (letters, digits, space and * : , . / ~ - only, at most 64; empty = off)`);
  }
  return value;
}

/** A TCP port; leading zeros are decimal, not octal. Returns the value as written. */
export function port(value: string): string {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ValueProblem(`'${value}' is not an integer 1 to 65535`);
  }
  return value;
}

export function hostName(value: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(value)) throw new ValueProblem(`'${value}' is not a host name or address ([A-Za-z0-9.:-]+)`);
  return value;
}

export function oneOf(value: string, words: readonly string[]): string {
  if (!words.includes(value)) throw new ValueProblem(`'${value}' must be ${words.join(' or ')}`);
  return value;
}
