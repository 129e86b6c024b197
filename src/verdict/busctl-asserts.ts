/** One entry of a unit's Asserts property: systemd's (type, trigger, negate, parameter, state). */
export interface AssertEntry {
  readonly type: string;
  /** A triggering assertion (`AssertPathExists=|...`): any one of the triggering ones passing is enough. */
  readonly trigger: boolean;
  /** `AssertPathExists=!...`: passes when the path does NOT exist. */
  readonly negate: boolean;
  /**
   * As busctl prints it, still C-escaped. Escaping leaves [A-Za-z0-9._/-] alone and every escape
   * starts with a backslash, so for the ess.conf paths (contract section 2) comparing the escaped text
   * is the same as comparing the string; the bash side compares it the same way.
   */
  readonly parameter: string;
  readonly state: number;
}

// busctl's C-quoted string: anything but a quote or backslash, or a backslash and the character it escapes.
const STRING = '"((?:[^"\\\\]|\\\\.)*)"';
const HEADER = /^a\(sbbsi\) ([0-9]+)/;
const TUPLE = new RegExp(`^ ${STRING} (true|false) (true|false) ${STRING} (-?[0-9]+)`);

/**
 * Parses what `busctl get-property org.freedesktop.systemd1 UNIT_OBJECT org.freedesktop.systemd1.Unit
 * Asserts` prints, e.g. `a(sbbsi) 1 "AssertPathExists" false true "/run/quantum/ESS_ON" 0`. Returns
 * null for empty text (busctl failed) and for anything that is not exactly that shape: a half-read
 * answer must never pass for "no assertions".
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
