import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.js';

export const DEFAULT_ESS_CONFIG_FILE = '/etc/quantum/ess.conf';

/** The part of the controller's ess.conf the exporter needs. */
export interface EssConf {
  readonly tradingUnits: readonly string[];
  readonly monitorUnits: readonly string[];
  readonly flagFile: string;
  readonly stateDir: string;
  readonly spoolDir: string;
}

// Same defaults as deploy/lib/config.sh, so a host without ess.conf is described exactly as the
// controller sees it.
const DEFAULTS: Readonly<Record<string, string>> = {
  TRADING_UNITS: 'quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor',
  MONITOR_UNITS: 'grafana-server quantum-rl-monitor redis-server prometheus',
  FLAG_FILE: '/run/quantum/ESS_ON',
  STATE_DIR: '/var/lib/quantum-ess',
  SPOOL_DIR: '/var/spool/quantum-ess',
};

// Unit names end up as systemctl arguments: they must never look like an option.
const UNIT_NAME = /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/;

/** Parses KEY=VALUE text like the controller does; keys the exporter does not use are ignored. */
export function parseEssConf(text: string, file: string): EssConf {
  const values: Record<string, string> = { ...DEFAULTS };
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) return;
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new ConfigError(file, `line ${index + 1}`, `expected KEY=VALUE, got '${line}'`);
    const [, key = '', value = ''] = match;
    const quoted = /^"(.*)"$/.exec(value);
    values[key] = quoted ? (quoted[1] ?? '') : value;
  });

  const tradingUnits = unitList(values, 'TRADING_UNITS', file);
  const monitorUnits = unitList(values, 'MONITOR_UNITS', file);
  const seen = new Set<string>();
  for (const unit of tradingUnits) {
    if (seen.has(unit)) throw new ConfigError(file, 'TRADING_UNITS', `${unit} listed twice`);
    seen.add(unit);
  }
  for (const unit of monitorUnits) {
    if (seen.has(unit)) throw new ConfigError(file, 'MONITOR_UNITS', `${unit} is also a trading unit or listed twice`);
    seen.add(unit);
  }
  return {
    tradingUnits,
    monitorUnits,
    flagFile: canonicalRun(absolutePath(values, 'FLAG_FILE', file)),
    stateDir: absolutePath(values, 'STATE_DIR', file),
    spoolDir: absolutePath(values, 'SPOOL_DIR', file),
  };
}

export async function loadEssConf(file: string, required: boolean): Promise<EssConf> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // Like the controller: no file at the default location means "all defaults".
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return parseEssConf('', file);
    throw new ConfigError(file, 'file', `cannot be read (${(error as Error).message})`, { cause: error });
  }
  return parseEssConf(text, file);
}

function unitList(values: Record<string, string>, key: string, file: string): string[] {
  const names = (values[key] ?? '').split(/\s+/).filter((name) => name !== '');
  if (names.length === 0) throw new ConfigError(file, key, 'must list at least one unit');
  return names.map((name) => {
    if (!UNIT_NAME.test(name)) throw new ConfigError(file, key, `invalid unit name '${name}'`);
    return name.includes('.') ? name : `${name}.service`;
  });
}

function absolutePath(values: Record<string, string>, key: string, file: string): string {
  const value = values[key] ?? '';
  if (!value.startsWith('/') || /\s/.test(value)) {
    throw new ConfigError(file, key, `'${value}' must be an absolute path without spaces`);
  }
  return value;
}

/** /var/run is a link to /run; the controller writes the canonical spelling. */
export function canonicalRun(path: string): string {
  return path.startsWith('/var/run/') ? path.slice('/var'.length) : path;
}
