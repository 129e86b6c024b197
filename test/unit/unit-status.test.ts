import { describe, expect, it } from 'vitest';
import { unitState } from '../../src/readers/unit-status.js';

describe('unitState (ess_unit_state from LoadState and ActiveState)', () => {
  it('reports not-found and masked units from LoadState', () => {
    expect(unitState('not-found', 'inactive')).toBe('not-found');
    expect(unitState('masked', 'inactive')).toBe('masked');
    expect(unitState('masked', 'failed')).toBe('masked');
  });

  it('keeps a masked unit that still runs as running (masking does not stop it)', () => {
    expect(unitState('masked', 'active')).toBe('active');
  });

  it('folds reloading into active and maintenance into inactive', () => {
    expect(unitState('loaded', 'reloading')).toBe('active');
    expect(unitState('loaded', 'maintenance')).toBe('inactive');
  });

  it('refuses an unknown ActiveState', () => {
    expect(() => unitState('loaded', 'exploded')).toThrow(/unknown ActiveState 'exploded'/);
  });
});
