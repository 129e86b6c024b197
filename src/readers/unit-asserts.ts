import type { Variant } from '@jellybrick/dbus-next';

/** One entry of a unit's Asserts property: systemd's (type, trigger, negate, parameter, state). */
export interface AssertEntry {
  readonly type: string;
  /** A triggering assertion (`AssertPathExists=|...`): any one of the triggering ones passing is enough. */
  readonly trigger: boolean;
  /** `AssertPathExists=!...`: passes when the path does NOT exist. */
  readonly negate: boolean;
  /** The path (or other parameter) as systemd holds it. */
  readonly parameter: string;
  readonly state: number;
}

/**
 * The Asserts property (`a(sbbsi)`) as D-Bus delivers it, entry by entry; null when the value is not of
 * that type: a half-read answer must never pass for "no assertions".
 */
export function assertsOf(variant: Variant | undefined): AssertEntry[] | null {
  if (variant === undefined || variant.signature !== 'a(sbbsi)' || !Array.isArray(variant.value)) return null;
  const entries: AssertEntry[] = [];
  for (const entry of variant.value as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 5) return null;
    const [type, trigger, negate, parameter, state] = entry as [unknown, unknown, unknown, unknown, unknown];
    if (typeof type !== 'string' || typeof trigger !== 'boolean' || typeof negate !== 'boolean' || typeof parameter !== 'string' || typeof state !== 'number') {
      return null;
    }
    entries.push({ type, trigger, negate, parameter, state });
  }
  return entries;
}

/**
 * systemd's D-Bus object path of a unit: every byte outside [A-Za-z0-9] of its name written as `_`
 * and two lowercase hex digits (`quantum-execution.service` -> `.../unit/quantum_2dexecution_2eservice`).
 */
export function unitObjectPath(unit: string): string {
  const label = [...Buffer.from(unit, 'utf8')].map((byte) => {
    const char = String.fromCharCode(byte);
    return /^[A-Za-z0-9]$/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  });
  return `/org/freedesktop/systemd1/unit/${label.join('')}`;
}
