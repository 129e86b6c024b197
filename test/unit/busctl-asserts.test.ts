import { describe, expect, it } from 'vitest';
import { parseAsserts } from '../../sandbox/busctl-asserts.js';

const FLAG = '"AssertPathExists" false true "/run/quantum/ESS_ON" 0';
const LATCHED = '"AssertPathExists" false true "/var/lib/quantum-ess/latched" 0';

describe('parseAsserts', () => {
  it('reads every (type, trigger, negate, parameter, state) tuple', () => {
    expect(parseAsserts(`a(sbbsi) 2 ${FLAG} "AssertPathIsDirectory" true false "/srv" -1\n`)).toEqual([
      { type: 'AssertPathExists', trigger: false, negate: true, parameter: '/run/quantum/ESS_ON', state: 0 },
      { type: 'AssertPathIsDirectory', trigger: true, negate: false, parameter: '/srv', state: -1 },
    ]);
  });

  it('reads an empty list', () => {
    expect(parseAsserts('a(sbbsi) 0')).toEqual([]);
  });

  it('keeps escaped quotes, backslashes and blanks inside a string (escaped, as busctl printed them)', () => {
    const entries = parseAsserts(String.raw`a(sbbsi) 3 "AssertPathExists" false false "/a \"b\" c\\" 1 ${FLAG} "X" false true "\\\"" 0`);
    expect(entries?.map((e) => e.parameter)).toEqual([String.raw`/a \"b\" c\\`, '/run/quantum/ESS_ON', String.raw`\\\"`]);
  });

  it('does not end a string at an escaped quote, so a look-alike never matches the flag', () => {
    const entries = parseAsserts(String.raw`a(sbbsi) 2 "AssertPathExists" false true "/run/quantum/ESS_ON\" false true \"x" 0 ${LATCHED}`);
    expect(entries?.map((e) => e.parameter)).toEqual([String.raw`/run/quantum/ESS_ON\" false true \"x`, '/var/lib/quantum-ess/latched']);
  });

  it.each([
    ['', 'empty (busctl failed)'],
    [`a(sbbsi) 2 ${FLAG}`, 'fewer tuples than announced'],
    [`a(sbbsi) 1 ${FLAG} ${LATCHED}`, 'more tuples than announced'],
    [`a(sbbsi) 1 ${FLAG} x`, 'trailing text'],
    [`as 1 "/run/quantum/ESS_ON"`, 'another signature'],
    [` a(sbbsi) 1 ${FLAG}`, 'leading blank'],
    ['a(sbbsi) 1 "AssertPathExists" no true "/x" 0', 'a boolean that is not true/false'],
    ['a(sbbsi) 1 "AssertPathExists" false true "/x 0', 'an unterminated string'],
    ['a(sbbsi) 1 "AssertPathExists" false true "/x" zero', 'a state that is not an integer'],
    [`a(sbbsi) 1  ${FLAG}`, 'two blanks between fields'],
  ])('refuses %j (%s)', (text) => {
    expect(parseAsserts(text)).toBeNull();
  });
});
