import { Variant } from '@jellybrick/dbus-next';
import { describe, expect, it } from 'vitest';
import { parseAsserts } from '../../src/verdict/busctl-asserts.js';
import { cEscape, formatAsserts } from '../../src/readers/unit-states-bus.js';

describe('formatAsserts (the D-Bus Asserts value as busctl prints it)', () => {
  it('prints the latch assertions exactly as busctl does, and parses back', () => {
    const value = new Variant('a(sbbsi)', [
      ['AssertPathExists', false, true, '/run/quantum/ESS_ON', 0],
      ['AssertPathExists', false, true, '/var/lib/quantum-ess/latched', 1],
    ]);
    const text = formatAsserts(value);
    expect(text).toBe('a(sbbsi) 2 "AssertPathExists" false true "/run/quantum/ESS_ON" 0 "AssertPathExists" false true "/var/lib/quantum-ess/latched" 1');
    expect(parseAsserts(text)).toHaveLength(2);
  });

  it('prints an empty list as busctl does', () => {
    expect(formatAsserts(new Variant('a(sbbsi)', []))).toBe('a(sbbsi) 0');
    expect(parseAsserts('a(sbbsi) 0')).toEqual([]);
  });

  it('gives empty text (guard unknown) for anything else', () => {
    expect(formatAsserts(undefined)).toBe('');
    expect(formatAsserts(new Variant('s', 'x'))).toBe('');
    expect(formatAsserts(new Variant('a(sbbsi)', [['AssertPathExists', 'no', true, '/x', 0]]))).toBe('');
  });

  it('escapes strings like systemd cescape()', () => {
    expect(cEscape('a"b\\c\nd\'é')).toBe('a\\"b\\\\c\\nd\\\'\\303\\251');
  });
});
