/**
 * The switch's wiring as systemd has loaded it (contract/README.md section 1, "the switch as
 * installed"), in the contract's text forms, which the installer's record holds: what the D-Bus watch
 * reads after every daemon-reload.
 */
import type { Variant } from '@jellybrick/dbus-next';
import { cEscape } from './c-escape.js';

/** The type's own wiring property of a unit: its D-Bus interface and name. */
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

/**
 * A dependency list as compared (contract section 1): sorted, as systemd lists a set in no fixed
 * order, and for After without .path and .timer units, whose jobs end at once (they cannot hold a
 * start) and which come and go with the ESS's own timers being enabled.
 */
export function dependencyText(property: string, units: readonly string[]): string {
  const held = property === 'After' ? units.filter((unit) => !/\.(path|timer)$/.test(unit)) : units;
  return [...held].sort().join(' ');
}
