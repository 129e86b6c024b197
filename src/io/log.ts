/**
 * Every component gets the log injected, so tests capture its lines and nothing else writes to the
 * journal. A line is at journald's default priority (info) unless it says warning.
 */
export type Log = (message: string, level?: 'warning') => void;

/**
 * Under systemd stderr goes to the journal, which adds time and unit: one line per event. console, not
 * process.stderr.write: console swallows write errors, and a lost log line must not kill the exporter.
 * A warning starts with `<4>`, which journald reads as the line's priority (sd-daemon(3)).
 */
export const journalLog: Log = (message, level) => console.error(`${level === 'warning' ? '<4>' : ''}ess-exporter: ${message}`);

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
