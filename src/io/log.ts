/**
 * Every component gets the log injected, so tests capture its lines and nothing else writes to the
 * journal. A line is at journald's default priority (info) unless it says warning or error.
 */
export type Log = (message: string, level?: 'warning' | 'error') => void;

/** --log.level: the lowest priority written. */
export type LogLevel = 'info' | 'warn' | 'error';
/** --log.format: logfmt (key=value) or json, one object per line; without it, today's plain line. */
export type LogFormat = 'logfmt' | 'json';

// sd-daemon(3): a line starting <N> is logged by journald at priority N (3 err, 4 warning, 6 info),
// so `journalctl -u quantum-ess-exporter -p warning` shows every warning and error
const PRIORITY = { info: 6, warning: 4, error: 3 } as const;
const RANK = { info: 0, warn: 1, error: 2 } as const;
const LEVEL_NAME = { info: 'info', warning: 'warn', error: 'error' } as const;

const logfmtValue = (value: string): string => (/^[\w./:@-]+$/.test(value) ? value : JSON.stringify(value));

/**
 * Under systemd stderr goes to the journal, which adds time and unit: one line per event. console, not
 * process.stderr.write: console swallows write errors, and a lost log line must not kill the exporter.
 * Warnings and errors carry their journald priority prefix (info is journald's default).
 */
export function makeLog(options: { level?: LogLevel; format?: LogFormat } = {}): Log {
  const lowest = RANK[options.level ?? 'info'];
  return (message, level) => {
    const severity = level ?? 'info';
    const name = LEVEL_NAME[severity];
    if (RANK[name] < lowest) return;
    const prefix = severity === 'info' ? '' : `<${PRIORITY[severity]}>`;
    if (options.format === 'json') {
      console.error(`${prefix}${JSON.stringify({ level: name, source: 'ess-exporter', msg: message })}`);
    } else if (options.format === 'logfmt') {
      console.error(`${prefix}level=${name} source=ess-exporter msg=${logfmtValue(message)}`);
    } else {
      console.error(`${prefix}ess-exporter: ${message}`);
    }
  };
}

/** The log before the command line is read (and the tests'): today's plain line, every priority. */
export const journalLog: Log = makeLog();

/**
 * The message with its causes on one bounded line, which is what an operator needs. A cause whose first
 * line its parent already quotes is not repeated.
 */
export function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current !== undefined && parts.length < 3) {
    const message = current instanceof Error ? current.message : String(current);
    const firstLine = message.split('\n', 1)[0] ?? '';
    if (!parts.some((part) => part.includes(firstLine.slice(0, 100)))) {
      parts.push(message.replace(/\s+/g, ' ').slice(0, 300));
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
