// The contract's text form of a unit's Asserts (what `busctl get-property` prints, the form of the
// verdict fixtures and of the bash side) turned into the entries the exporter reads from D-Bus: the
// tests convert at this boundary. A parameter stays C-escaped as busctl printed it; for the paths
// ess.conf allows (contract section 2) that is the string itself.
import type { AssertEntry } from '../src/readers/unit-asserts.js';

// busctl's C-quoted string: anything but a quote or backslash, or a backslash and the character it escapes.
const STRING = '"((?:[^"\\\\]|\\\\.)*)"';
const HEADER = /^a\(sbbsi\) ([0-9]+)/;
const TUPLE = new RegExp(`^ ${STRING} (true|false) (true|false) ${STRING} (-?[0-9]+)`);

/**
 * Parses what `busctl get-property org.freedesktop.systemd1 UNIT_OBJECT org.freedesktop.systemd1.Unit
 * Asserts` prints, e.g. `a(sbbsi) 1 "AssertPathExists" false true "/run/quantum/ESS_ON" 0`. Returns
 * null for empty text (not read) and for anything that is not exactly that shape, as the bash side
 * judges it: guard unknown.
 */
export function parseAsserts(text: string): AssertEntry[] | null {
  const header = HEADER.exec(text);
  if (!header) return null;
  let rest = text.slice(header[0].length);
  const entries: AssertEntry[] = [];
  for (let i = Number(header[1]); i > 0; i--) {
    const tuple = TUPLE.exec(rest);
    if (!tuple) return null;
    const [whole, type = '', trigger, negate, parameter = '', state] = tuple;
    entries.push({ type, trigger: trigger === 'true', negate: negate === 'true', parameter, state: Number(state) });
    rest = rest.slice(whole.length);
  }
  return /^[ \n]*$/.test(rest) ? entries : null;
}
