import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadEssConf, parseEssConf } from '../../src/config/ess-conf.js';

describe('parseEssConf', () => {
  it('reads unit lists and paths, implies .service, accepts quotes and ignores other keys', () => {
    const conf = parseEssConf(
      [
        '# comment',
        '',
        'TRADING_UNITS="quantum-ai-engine quantum-execution.service  trader@1"',
        'MONITOR_UNITS=redis-server prometheus.socket',
        'FLAG_FILE=/var/run/quantum/ESS_ON',
        'STATE_DIR="/var/lib/quantum-ess"',
        'SPOOL_DIR=/var/spool/quantum-ess',
        'REDIS_PORT=6379',
      ].join('\n'),
      'ess.conf',
    );
    expect(conf).toEqual({
      tradingUnits: ['quantum-ai-engine.service', 'quantum-execution.service', 'trader@1.service'],
      monitorUnits: ['redis-server.service', 'prometheus.socket'],
      flagFile: '/run/quantum/ESS_ON',
      stateDir: '/var/lib/quantum-ess',
      spoolDir: '/var/spool/quantum-ess',
    });
  });

  it('uses the controller defaults for keys that are not set', () => {
    const conf = parseEssConf('', 'ess.conf');
    expect(conf.tradingUnits).toContain('quantum-governor.service');
    expect(conf.monitorUnits).toContain('redis-server.service');
    expect(conf.flagFile).toBe('/run/quantum/ESS_ON');
  });

  it.each([
    ['TRADING_UNITS=""', 'TRADING_UNITS: must list at least one unit'],
    ['TRADING_UNITS="-evil"', "TRADING_UNITS: invalid unit name '-evil'"],
    ['TRADING_UNITS="a a.service"', 'TRADING_UNITS: a.service listed twice'],
    ['MONITOR_UNITS="quantum-governor"', 'MONITOR_UNITS: quantum-governor.service is also a trading unit'],
    ['FLAG_FILE=run/ESS_ON', "FLAG_FILE: 'run/ESS_ON' must be an absolute path"],
    ['STATE_DIR="/var/lib/with space"', 'STATE_DIR:'],
    ['this is not a setting', 'line 1: expected KEY=VALUE'],
  ])('refuses %s naming the key', (line, message) => {
    expect(() => parseEssConf(line, '/etc/quantum/ess.conf')).toThrow(ConfigError);
    expect(() => parseEssConf(line, '/etc/quantum/ess.conf')).toThrow(`config error in /etc/quantum/ess.conf: ${message}`);
  });

  it('accepts a missing file only when it was not asked for explicitly', async () => {
    await expect(loadEssConf('/nonexistent/ess.conf', false)).resolves.toHaveProperty('flagFile', '/run/quantum/ESS_ON');
    const error: unknown = await loadEssConf('/nonexistent/ess.conf', true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('/nonexistent/ess.conf: file: cannot be read');
    expect((error as ConfigError).cause).toBeDefined();
  });
});
