import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { essConfLines, parseEssConf } from '../../src/config/ess-conf.js';
import { loadEssConf } from '../../src/load-config.js';

const FILE = '/etc/quantum/ess.conf';

function refusal(text: string): ConfigError {
  try {
    parseEssConf(text, FILE);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe('parseEssConf', () => {
  it('prints every key with its default, sorted, as check-config does', () => {
    expect(essConfLines(parseEssConf('', FILE))).toEqual([
      'ACTIONS_ON_RETRIP=no',
      'ACTION_MODE=check',
      'ACTION_TIMEOUT_SEC=30',
      'AUDIT_FILE=/var/log/quantum-ess/audit.jsonl',
      'DRILL_FULL_ONCALENDAR=',
      'FLAG_FILE=/run/quantum/ESS_ON',
      'KILL_AFTER_SEC=1',
      'LATCH_ACROSS_REBOOT=keep',
      'LOCK_FILE=/run/quantum-ess/ess.lock',
      'LOCK_WAIT_SEC=10',
      'MAX_EXEMPTION_SEC=3600',
      'MAX_WATCHDOG_PAUSE_SEC=3600',
      'MONITOR_UNITS=grafana-server.service quantum-rl-monitor.service redis-server.service prometheus.service',
      'REDIS_ENABLED=yes',
      'REDIS_HOST=127.0.0.1',
      'REDIS_PORT=6379',
      'REDIS_TIMEOUT_SEC=0.5',
      'SPOOL_DIR=/var/spool/quantum-ess',
      'START_ORDER=quantum-governor.service quantum-ai-engine.service quantum-apply-layer.service quantum-execution.service',
      'START_SETTLE_SEC=1',
      'START_TIMEOUT_SEC=30',
      'STATE_DIR=/var/lib/quantum-ess',
      'STOP_DEADLINE_SEC=2',
      'TRADING_UNITS=quantum-ai-engine.service quantum-execution.service quantum-apply-layer.service quantum-governor.service',
      'WATCHDOG_ACTION=off',
      'WATCHDOG_GRACE_SEC=600',
      'WATCHDOG_MAX_SILENCE_SEC=300',
    ]);
  });

  it('normalises units and the /run paths, and keeps numbers exactly as written', () => {
    const conf = parseEssConf(
      [
        '# comment',
        '',
        '  TRADING_UNITS="quantum-ai-engine quantum-execution.service  trader@1"',
        'MONITOR_UNITS=redis-server prometheus.socket',
        'START_ORDER="trader@1 quantum-execution quantum-ai-engine.service"',
        'FLAG_FILE=/var/run/quantum/ESS_ON',
        'LOCK_FILE=/var/run/quantum/ess.lock',
        'STATE_DIR="/var/run/quantum-ess"',
        'LATCH_ACROSS_REBOOT=clear',
        'STOP_DEADLINE_SEC=2.50',
        'REDIS_PORT=06379',
      ].join('\n'),
      FILE,
    );
    expect(conf).toMatchObject({
      tradingUnits: ['quantum-ai-engine.service', 'quantum-execution.service', 'trader@1.service'],
      monitorUnits: ['redis-server.service', 'prometheus.socket'],
      startOrder: ['trader@1.service', 'quantum-execution.service', 'quantum-ai-engine.service'],
      flagFile: '/run/quantum/ESS_ON',
      stateDir: '/var/run/quantum-ess',
    });
    expect(essConfLines(conf)).toEqual(
      expect.arrayContaining(['LOCK_FILE=/run/quantum/ess.lock', 'STOP_DEADLINE_SEC=2.50', 'REDIS_PORT=06379', 'STATE_DIR=/var/run/quantum-ess']),
    );
  });

  it('takes MAX_EXEMPTION_SEC without leading zeros and DRILL_FULL_ONCALENDAR as written', () => {
    const lines = essConfLines(parseEssConf('MAX_EXEMPTION_SEC=007200\nDRILL_FULL_ONCALENDAR="Sun *-*-* 03:00:00"\n', FILE));
    expect(lines).toContain('MAX_EXEMPTION_SEC=7200');
    expect(lines).toContain('DRILL_FULL_ONCALENDAR=Sun *-*-* 03:00:00');
  });

  it('accepts an empty MONITOR_UNITS (only trading units must be listed)', () => {
    expect(parseEssConf('MONITOR_UNITS=""', FILE).monitorUnits).toEqual([]);
    expect(essConfLines(parseEssConf('MONITOR_UNITS=', FILE))).toContain('MONITOR_UNITS=');
  });

  it.each([
    ['this is not a setting', 'line 1', "expected KEY=VALUE, got 'this is not a setting'"],
    ['# ok\nFLAG_FILE=/run/quantum/ESS_ON\r', 'line 2', 'carriage return'],
    ['FLAG_FIEL=/run/x/y', 'FLAG_FIEL', 'unknown key (line 1; known: TRADING_UNITS'],
    ['REDIS_PORT=1\n\nREDIS_PORT=1', 'REDIS_PORT', 'set twice (again on line 3)'],
    ['TRADING_UNITS=""', 'TRADING_UNITS', 'must list at least one unit'],
    ['TRADING_UNITS="a a.service"', 'TRADING_UNITS', 'a.service is listed twice'],
    ['TRADING_UNITS="trader@"', 'TRADING_UNITS', "'trader@' is a template, not a unit"],
    ['TRADING_UNITS="feed.socket"', 'TRADING_UNITS', "'feed.socket': only .service units are allowed here"],
    ['MONITOR_UNITS="sda.device"', 'MONITOR_UNITS', "'sda.device': only .service .socket .timer .target .mount .path .slice .scope units"],
    [`TRADING_UNITS=${'x'.repeat(248)}`, 'TRADING_UNITS', 'is longer than 255 characters'],
    ['MONITOR_UNITS="quantum-governor"', 'MONITOR_UNITS', 'quantum-governor.service is also a trading unit'],
    ['START_ORDER="quantum-governor quantum-ai-engine quantum-apply-layer"', 'START_ORDER', 'trading unit quantum-execution.service is missing'],
    ['START_ORDER="quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution x"', 'START_ORDER', 'x.service is not in TRADING_UNITS'],
    ['FLAG_FILE=run/ESS_ON', 'FLAG_FILE', "'run/ESS_ON' is not an absolute path"],
    ['STATE_DIR=/var/lib/../etc', 'STATE_DIR', 'has a . or .. component'],
    ['AUDIT_FILE=/audit.jsonl', 'AUDIT_FILE', 'at least two components'],
    ['STATE_DIR=/var/spool/quantum-ess/state', 'SPOOL_DIR', 'STATE_DIR /var/spool/quantum-ess/state lies inside SPOOL_DIR /var/spool/quantum-ess'],
    ['STOP_DEADLINE_SEC=61', 'STOP_DEADLINE_SEC', "'61' is out of range: 0.1 to 60 seconds"],
    ['KILL_AFTER_SEC=0.01', 'KILL_AFTER_SEC', 'out of range: 0.05 to 59 seconds'],
    ['KILL_AFTER_SEC=2.0', 'KILL_AFTER_SEC', '2.0 must be below STOP_DEADLINE_SEC 2'],
    ['START_TIMEOUT_SEC=0', 'START_TIMEOUT_SEC', 'out of range: 1 to 600 seconds'],
    ['START_SETTLE_SEC=60.5', 'START_SETTLE_SEC', 'out of range: 0 to 60 seconds'],
    ['LOCK_WAIT_SEC=301', 'LOCK_WAIT_SEC', 'out of range: 0.1 to 300 seconds'],
    ['REDIS_TIMEOUT_SEC=0', 'REDIS_TIMEOUT_SEC', 'out of range: 0.01 to 10 seconds'],
    ['ACTION_TIMEOUT_SEC=0', 'ACTION_TIMEOUT_SEC', 'out of range: 1 to 600 seconds'],
    ['ACTION_TIMEOUT_SEC=601', 'ACTION_TIMEOUT_SEC', 'out of range: 1 to 600 seconds'],
    ['ACTION_MODE=dry', 'ACTION_MODE', "'dry' must be real or check"],
    ['ACTIONS_ON_RETRIP=1', 'ACTIONS_ON_RETRIP', "'1' must be yes or no"],
    ['REDIS_TIMEOUT_SEC=1e1', 'REDIS_TIMEOUT_SEC', "'1e1' is not a number of seconds"],
    ['REDIS_PORT=65536', 'REDIS_PORT', "'65536' is not an integer 1 to 65535"],
    ['REDIS_HOST=a_b', 'REDIS_HOST', "'a_b' is not a host name or address"],
    ['REDIS_ENABLED=true', 'REDIS_ENABLED', "'true' must be yes or no"],
    ['LATCH_ACROSS_REBOOT=forget', 'LATCH_ACROSS_REBOOT', "'forget' must be keep or clear"],
    ['MAX_EXEMPTION_SEC=59', 'MAX_EXEMPTION_SEC', "'59' is not a whole number of seconds from 60 to 86400"],
    ['MAX_EXEMPTION_SEC=86401', 'MAX_EXEMPTION_SEC', 'from 60 to 86400'],
    ['MAX_EXEMPTION_SEC=600.5', 'MAX_EXEMPTION_SEC', 'from 60 to 86400'],
    ['MAX_EXEMPTION_SEC=1h', 'MAX_EXEMPTION_SEC', 'from 60 to 86400'],
    ['WATCHDOG_ACTION=page', 'WATCHDOG_ACTION', "'page' must be off or alert or trip"],
    ['WATCHDOG_MAX_SILENCE_SEC=0', 'WATCHDOG_MAX_SILENCE_SEC', "'0' is not a whole number of seconds from 10 to 86400"],
    ['WATCHDOG_MAX_SILENCE_SEC=-5', 'WATCHDOG_MAX_SILENCE_SEC', 'from 10 to 86400'],
    ['WATCHDOG_GRACE_SEC=0', 'WATCHDOG_GRACE_SEC', 'from 1 to 86400'],
    ['MAX_WATCHDOG_PAUSE_SEC=30', 'MAX_WATCHDOG_PAUSE_SEC', 'from 60 to 86400'],
    ['DRILL_FULL_ONCALENDAR="Sun; rm -rf /"', 'DRILL_FULL_ONCALENDAR', 'is not an OnCalendar expression'],
    [`DRILL_FULL_ONCALENDAR=${'1'.repeat(65)}`, 'DRILL_FULL_ONCALENDAR', 'at most 64'],
  ])('refuses %j naming %s', (text, key, message) => {
    const error = refusal(text);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`config error in ${FILE}: ${key}: `);
    expect(error.message).toContain(message);
  });

  it('accepts a missing file only when it was not asked for explicitly', async () => {
    await expect(loadEssConf('/nonexistent/ess.conf', false)).resolves.toHaveProperty('flagFile', '/run/quantum/ESS_ON');
    const error: unknown = await loadEssConf('/nonexistent/ess.conf', true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('/nonexistent/ess.conf: file: cannot be read');
    expect((error as ConfigError).cause).toBeDefined();
  });
});
