import { ConfigError } from './config-error.js';
import { checkPathHomes } from './ess-conf-homes.js';
import {
  canonicalRun,
  hostName,
  isWithin,
  microseconds,
  MONITOR_UNIT_TYPES,
  onCalendar,
  oneOf,
  path,
  port,
  seconds,
  TRADING_UNIT_TYPES,
  unitList,
  ValueProblem,
  wholeSeconds,
} from './ess-conf-values.js';

export const DEFAULT_ESS_CONFIG_FILE = '/etc/quantum/ess.conf';

/** Every key of ess.conf with its default (contract/README.md section 2); the keys are the only ones accepted. */
export const ESS_CONF_DEFAULTS = {
  TRADING_UNITS: 'quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor',
  MONITOR_UNITS: 'grafana-server quantum-rl-monitor redis-server prometheus',
  START_ORDER: 'quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution',
  FLAG_FILE: '/run/quantum/ESS_ON',
  LOCK_FILE: '/run/quantum-ess/ess.lock',
  STATE_DIR: '/var/lib/quantum-ess',
  AUDIT_FILE: '/var/log/quantum-ess/audit.jsonl',
  SPOOL_DIR: '/var/spool/quantum-ess',
  STOP_DEADLINE_SEC: '2',
  KILL_AFTER_SEC: '1',
  START_TIMEOUT_SEC: '30',
  START_SETTLE_SEC: '1',
  LOCK_WAIT_SEC: '10',
  LATCH_ACROSS_REBOOT: 'keep',
  MAX_EXEMPTION_SEC: '3600',
  DRILL_FULL_ONCALENDAR: '',
  REDIS_ENABLED: 'yes',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '6379',
  REDIS_TIMEOUT_SEC: '0.5',
  ACTION_TIMEOUT_SEC: '30',
  ACTION_MODE: 'check',
  ACTIONS_ON_RETRIP: 'no',
  WATCHDOG_ACTION: 'off',
  WATCHDOG_MAX_SILENCE_SEC: '300',
  WATCHDOG_GRACE_SEC: '600',
  MAX_WATCHDOG_PAUSE_SEC: '3600',
} as const;

export type EssConfKey = keyof typeof ESS_CONF_DEFAULTS;
export type EssConfValues = Readonly<Record<EssConfKey, string>>;

/** The whole ess.conf, validated; `values` holds every key normalised, as `check-config` prints them. */
export interface EssConf {
  readonly values: EssConfValues;
  readonly tradingUnits: readonly string[];
  readonly monitorUnits: readonly string[];
  readonly startOrder: readonly string[];
  readonly flagFile: string;
  readonly stateDir: string;
  readonly spoolDir: string;
}

const list = (units: readonly string[]): string => units.join(' ');

/**
 * Never trading units: the D-Bus daemon and systemd's own services (the stop goes through them), and
 * the ESS's own units (the exporter is what reports a stop).
 */
const NEVER_TRADING = /^(dbus\.service|dbus-broker\.service|systemd-.*|quantum-ess([-.@].*)?)$/;
/** Emptied at every boot: a latch kept across a reboot cannot be kept there. */
const VOLATILE_DIRS = ['/run', '/var/run', '/tmp', '/var/tmp', '/dev/shm'];
/** Writable by every user: whoever creates the flag's directory first owns the flag. */
const SHARED_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];
/** The controller's runtime markers (contract/README.md section 4): no configured path may be one. */
const MARKERS = [
  '/run/quantum-ess/persist-failed',
  '/run/quantum-ess/resume-pending',
  '/run/quantum-ess/exempt',
  '/run/quantum-ess/redis-pending',
  '/run/quantum-ess/drill',
  '/run/quantum-ess/config-problem',
];

/** Per-key rules, in the order of the contract's table; each returns the normalised value. */
const RULES: Readonly<Record<EssConfKey, (value: string) => string>> = {
  TRADING_UNITS: (value) => {
    const units = unitList(value, TRADING_UNIT_TYPES);
    if (units.length === 0) throw new ValueProblem('must list at least one unit');
    const vital = units.find((unit) => NEVER_TRADING.test(unit));
    if (vital !== undefined) throw new ValueProblem(`${vital} is part of the system or of the ESS itself; stopping it would take the stop path down with it`);
    return list(units);
  },
  MONITOR_UNITS: (value) => list(unitList(value, MONITOR_UNIT_TYPES)),
  START_ORDER: (value) => list(unitList(value, TRADING_UNIT_TYPES)),
  FLAG_FILE: (value) => canonicalRun(path(value)),
  LOCK_FILE: (value) => canonicalRun(path(value)),
  STATE_DIR: path,
  AUDIT_FILE: path,
  SPOOL_DIR: path,
  STOP_DEADLINE_SEC: (value) => seconds(value, '0.1', '60'),
  KILL_AFTER_SEC: (value) => seconds(value, '0.05', '59'),
  START_TIMEOUT_SEC: (value) => seconds(value, '1', '600'),
  START_SETTLE_SEC: (value) => seconds(value, '0', '60'),
  LOCK_WAIT_SEC: (value) => seconds(value, '0.1', '300'),
  LATCH_ACROSS_REBOOT: (value) => oneOf(value, ['keep', 'clear']),
  MAX_EXEMPTION_SEC: (value) => wholeSeconds(value, 60, 86400),
  DRILL_FULL_ONCALENDAR: onCalendar,
  REDIS_ENABLED: (value) => oneOf(value, ['yes', 'no']),
  REDIS_HOST: hostName,
  REDIS_PORT: port,
  REDIS_TIMEOUT_SEC: (value) => seconds(value, '0.01', '10'),
  ACTION_TIMEOUT_SEC: (value) => seconds(value, '1', '600'),
  ACTION_MODE: (value) => oneOf(value, ['real', 'check']),
  ACTIONS_ON_RETRIP: (value) => oneOf(value, ['yes', 'no']),
  WATCHDOG_ACTION: (value) => oneOf(value, ['off', 'alert', 'trip']),
  WATCHDOG_MAX_SILENCE_SEC: (value) => wholeSeconds(value, 10, 86400),
  WATCHDOG_GRACE_SEC: (value) => wholeSeconds(value, 1, 86400),
  MAX_WATCHDOG_PAUSE_SEC: (value) => wholeSeconds(value, 60, 86400),
};

const KEYS = Object.keys(ESS_CONF_DEFAULTS) as EssConfKey[];

function isKey(key: string): key is EssConfKey {
  return Object.hasOwn(ESS_CONF_DEFAULTS, key);
}

/**
 * Parses KEY=VALUE text (never sourced): blank lines and `#` comments (both may be indented), settings
 * optionally indented, no blanks around `=`, the value taken as is unless wholly wrapped in double
 * quotes. Every key is validated, defaults included; the first problem is thrown as a ConfigError
 * naming the key, or `line N` for a line that is not a setting at all.
 */
export function parseEssConf(text: string, file: string): EssConf {
  const written = readSettings(text, file);
  const values = {} as Record<EssConfKey, string>;
  for (const key of KEYS) {
    try {
      values[key] = RULES[key](written.get(key) ?? ESS_CONF_DEFAULTS[key]);
    } catch (error) {
      throw asConfigError(error, file, key);
    }
  }
  checkRelations(values, file);
  const units = (key: EssConfKey): string[] => values[key].split(' ').filter((unit) => unit !== '');
  return {
    values,
    tradingUnits: units('TRADING_UNITS'),
    monitorUnits: units('MONITOR_UNITS'),
    startOrder: units('START_ORDER'),
    flagFile: values.FLAG_FILE,
    stateDir: values.STATE_DIR,
    spoolDir: values.SPOOL_DIR,
  };
}

function readSettings(text: string, file: string): Map<EssConfKey, string> {
  const written = new Map<EssConfKey, string>();
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}`;
    // A CRLF file would otherwise carry an invisible \r into every value.
    if (line.includes('\r')) throw new ConfigError(file, where, 'carriage return (CRLF line ends?): save the file with LF line ends');
    if (/^[ \t]*(#|$)/.test(line)) return;
    const match = /^[ \t]*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new ConfigError(file, where, `expected KEY=VALUE, got '${line}'`);
    const [, key = '', raw = ''] = match;
    if (!isKey(key)) throw new ConfigError(file, key, `unknown key (${where}; known: ${KEYS.join(' ')})`);
    if (written.has(key)) throw new ConfigError(file, key, `set twice (again on ${where})`);
    const quoted = /^"(.*)"$/.exec(raw);
    written.set(key, quoted ? (quoted[1] ?? '') : raw);
  });
  return written;
}

/** Rules that relate keys to each other; they run once every key is valid on its own. */
function checkRelations(values: EssConfValues, file: string): void {
  if (microseconds(values.KILL_AFTER_SEC) >= microseconds(values.STOP_DEADLINE_SEC)) {
    throw new ConfigError(
      file,
      'KILL_AFTER_SEC',
      `${values.KILL_AFTER_SEC} must be below STOP_DEADLINE_SEC ${values.STOP_DEADLINE_SEC} (SIGKILL has to land before the deadline)`,
    );
  }
  const trading = values.TRADING_UNITS.split(' ');
  const alsoTrading = values.MONITOR_UNITS.split(' ').find((unit) => trading.includes(unit));
  if (alsoTrading !== undefined) throw new ConfigError(file, 'MONITOR_UNITS', `${alsoTrading} is also a trading unit`);

  const order = values.START_ORDER.split(' ').filter((unit) => unit !== '');
  const stranger = order.find((unit) => !trading.includes(unit));
  if (stranger !== undefined) throw new ConfigError(file, 'START_ORDER', `${stranger} is not in TRADING_UNITS`);
  const missing = trading.find((unit) => !order.includes(unit));
  if (missing !== undefined) throw new ConfigError(file, 'START_ORDER', `trading unit ${missing} is missing`);

  // The exporter (unprivileged) writes into the spool: nothing the root side trusts may lie in it.
  for (const key of ['FLAG_FILE', 'LOCK_FILE', 'STATE_DIR', 'AUDIT_FILE'] as const) {
    if (isWithin(values[key], values.SPOOL_DIR)) {
      throw new ConfigError(file, 'SPOOL_DIR', `${key} ${values[key]} lies inside SPOOL_DIR ${values.SPOOL_DIR}`);
    }
  }
  checkPathRelations(values, file);
  checkPathHomes(values, ESS_CONF_DEFAULTS, file);
}

/**
 * The root side's files are distinct (a lock that is the flag trips the ESS; an audit trail that is
 * state.json or the latch corrupts both), the flag is not where any user can create its directory,
 * and a latch kept across a reboot is not kept on a tmpfs. The same order as config.sh, so both name
 * the same key.
 */
function checkPathRelations(values: EssConfValues, file: string): void {
  const meets = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);
  const owned = ['latched', 'state.json', 'state.env', 'drill.json', 'quarantine'].map((name) => `${values.STATE_DIR}/${name}`);
  const checkedBefore = { FLAG_FILE: [], LOCK_FILE: ['FLAG_FILE'], AUDIT_FILE: ['FLAG_FILE', 'LOCK_FILE'] } as const;
  for (const [key, others] of Object.entries(checkedBefore) as [keyof typeof checkedBefore, readonly ('FLAG_FILE' | 'LOCK_FILE')[]][]) {
    for (const other of others) {
      if (meets(values[key], values[other])) throw new ConfigError(file, key, `${values[key]} collides with ${other} (${values[other]})`);
    }
    for (const kept of [values.STATE_DIR, ...owned, ...MARKERS]) {
      // a file of its own inside STATE_DIR is fine; STATE_DIR itself, or one of its files, is not
      if (kept === values.STATE_DIR && values[key].startsWith(`${kept}/`)) continue;
      if (meets(values[key], kept)) throw new ConfigError(file, key, `${values[key]} collides with ${kept}, which the controller keeps`);
    }
  }
  const shared = SHARED_DIRS.find((dir) => values.FLAG_FILE.startsWith(`${dir}/`));
  if (shared !== undefined) {
    throw new ConfigError(file, 'FLAG_FILE', `${values.FLAG_FILE} lies in ${shared}, where any user can create its directory first (and remove the flag)`);
  }
  const volatile = VOLATILE_DIRS.find((dir) => meets(values.STATE_DIR, dir));
  if (values.LATCH_ACROSS_REBOOT === 'keep' && volatile !== undefined) {
    throw new ConfigError(
      file,
      'STATE_DIR',
      `${values.STATE_DIR} lies in ${volatile}, emptied at every boot: LATCH_ACROSS_REBOOT=keep could not keep the latch (use /var/lib/..., or LATCH_ACROSS_REBOOT=clear)`,
    );
  }
}

function asConfigError(error: unknown, file: string, key: string): unknown {
  return error instanceof ValueProblem ? new ConfigError(file, key, error.message, { cause: error }) : error;
}

/** The normalised values as sorted KEY=VALUE lines: what `ess_controller.sh check-config` prints. */
export function essConfLines(conf: EssConf): string[] {
  return KEYS.map((key) => `${key}=${conf.values[key]}`).sort();
}
