import { Variant } from '@jellybrick/dbus-next';
import { describe, expect, it } from 'vitest';
import { parseAsserts } from '../../sandbox/busctl-asserts.js';
import { cEscape } from '../../src/readers/c-escape.js';
import { assertsOf, unitObjectPath } from '../../src/readers/unit-asserts.js';

describe('assertsOf (the D-Bus Asserts value, entry by entry)', () => {
  it('reads the latch assertions, the same entries as busctl text of them parses into', () => {
    const value = new Variant('a(sbbsi)', [
      ['AssertPathExists', false, true, '/run/quantum/ESS_ON', 0],
      ['AssertPathExists', false, true, '/var/lib/quantum-ess/latched', 1],
    ]);
    expect(assertsOf(value)).toEqual(
      parseAsserts('a(sbbsi) 2 "AssertPathExists" false true "/run/quantum/ESS_ON" 0 "AssertPathExists" false true "/var/lib/quantum-ess/latched" 1'),
    );
  });

  it('reads an empty list as no assertions', () => {
    expect(assertsOf(new Variant('a(sbbsi)', []))).toEqual([]);
  });

  it('gives null (guard unknown) for anything else', () => {
    expect(assertsOf(undefined)).toBeNull();
    expect(assertsOf(new Variant('s', 'x'))).toBeNull();
    expect(assertsOf(new Variant('a(sbbsi)', [['AssertPathExists', 'no', true, '/x', 0]]))).toBeNull();
    expect(assertsOf(new Variant('a(sbbsi)', [['AssertPathExists', false, true, '/x']]))).toBeNull();
  });
});

describe('unitObjectPath', () => {
  it('escapes every byte outside [A-Za-z0-9] as systemd does', () => {
    expect(unitObjectPath('quantum-execution.service')).toBe('/org/freedesktop/systemd1/unit/quantum_2dexecution_2eservice');
    expect(unitObjectPath('a@b_c.service')).toBe('/org/freedesktop/systemd1/unit/a_40b_5fc_2eservice');
  });
});

describe('cEscape (the wiring text forms)', () => {
  it('escapes strings like systemd cescape()', () => {
    expect(cEscape('a"b\\c\nd\'é')).toBe('a\\"b\\\\c\\nd\\\'\\303\\251');
  });
});
