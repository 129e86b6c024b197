import { describe, expect, it } from 'vitest';
import { parseSystemctlShow, SystemctlOutputError } from '../../src/readers/systemctl-show.js';
import { showOutput } from './helpers.js';

describe('parseSystemctlShow', () => {
  it('maps blocks by position, so an alias (Id differs) lands on the configured name', () => {
    const output = showOutput([
      { name: 'trader.service', active: 'active' },
      { name: 'alias.service', id: 'real-name.service', active: 'activating', sub: 'start-pre' },
    ]);
    const statuses = parseSystemctlShow(output, ['trader.service', 'alias.service']);
    expect(statuses.get('trader.service')).toEqual({
      id: 'trader.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      controlGroup: '/system.slice/trader.service',
      state: 'active',
    });
    expect(statuses.get('alias.service')).toMatchObject({ id: 'real-name.service', state: 'activating' });
  });

  it('reports not-found and masked units from LoadState', () => {
    const output = showOutput([
      { name: 'gone.service', load: 'not-found', active: 'inactive' },
      { name: 'masked.service', load: 'masked', active: 'inactive' },
      { name: 'masked-failed.service', load: 'masked', active: 'failed', sub: 'failed' },
    ]);
    const statuses = parseSystemctlShow(output, ['gone.service', 'masked.service', 'masked-failed.service']);
    expect(statuses.get('gone.service')?.state).toBe('not-found');
    expect(statuses.get('masked.service')?.state).toBe('masked');
    expect(statuses.get('masked-failed.service')?.state).toBe('masked');
  });

  it('keeps a masked unit that still runs as running (masking does not stop it)', () => {
    const output = showOutput([{ name: 'masked-running.service', load: 'masked', active: 'active' }]);
    expect(parseSystemctlShow(output, ['masked-running.service']).get('masked-running.service')?.state).toBe('active');
  });

  it('folds reloading into active and maintenance into inactive', () => {
    const output = showOutput([
      { name: 'a.service', active: 'reloading' },
      { name: 'b.service', active: 'maintenance' },
    ]);
    const statuses = parseSystemctlShow(output, ['a.service', 'b.service']);
    expect(statuses.get('a.service')?.state).toBe('active');
    expect(statuses.get('b.service')?.state).toBe('inactive');
  });

  it('accepts properties in any order and CRLF line ends', () => {
    const output = 'ActiveState=failed\r\nControlGroup=/system.slice/x.service\r\nSubState=failed\r\nLoadState=loaded\r\nId=x.service\r\n';
    expect(parseSystemctlShow(output, ['x.service']).get('x.service')).toMatchObject({ state: 'failed', controlGroup: '/system.slice/x.service' });
  });

  it('takes a missing ControlGroup line as no cgroup', () => {
    expect(parseSystemctlShow('LoadState=loaded\nActiveState=inactive\n', ['a.service']).get('a.service')?.controlGroup).toBe('');
  });

  it('refuses output whose block count does not match the units asked for', () => {
    const output = showOutput([{ name: 'a.service', active: 'active' }]);
    expect(() => parseSystemctlShow(output, ['a.service', 'b.service'])).toThrow(SystemctlOutputError);
    expect(() => parseSystemctlShow('', ['a.service'])).toThrow(/expected 1 property blocks, got 0/);
  });

  it('refuses a block without ActiveState and an unknown ActiveState', () => {
    expect(() => parseSystemctlShow('Id=a.service\nLoadState=loaded\n', ['a.service'])).toThrow(/no LoadState or ActiveState/);
    expect(() => parseSystemctlShow('LoadState=loaded\nActiveState=exploded\n', ['a.service'])).toThrow(/unknown ActiveState 'exploded'/);
  });
});
