import type { ExecaError as ExecaErrorType } from 'execa';

// Loaded on first use: with the unit states on D-Bus no process is ever run, and execa's module tree
// costs several megabytes of resident memory.
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = (): Promise<typeof import('execa')> => (execaModule ??= import('execa'));

/**
 * Runs a command and returns its stdout, killing it and everything it started after timeoutMs. The
 * child gets its own process group because killing only the child leaves any grandchild holding the
 * stdout pipe open, and the result would then wait for the grandchild however long it lives.
 */
export async function runBounded(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const { execa, ExecaError } = await loadExeca();
  const child = execa(file, args, {
    detached: true,
    stdin: 'ignore',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 1024 * 1024,
    env: { LC_ALL: 'C', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
  });
  const killGroup = setTimeout(() => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const { stdout } = await child;
    return stdout;
  } catch (error) {
    throw new Error(`${file} ${args[0] ?? ''}: ${failure(error, timeoutMs, ExecaError)}`, { cause: error });
  } finally {
    clearTimeout(killGroup);
  }
}

// execa's own message repeats the whole command line (every unit name), which would push what
// systemctl said out of a bounded log line.
function failure(error: unknown, timeoutMs: number, ExecaError: typeof ExecaErrorType): string {
  if (!(error instanceof ExecaError)) return String(error);
  const stderr = String(error.stderr ?? '').trim();
  const said = stderr === '' ? '' : `: ${stderr}`;
  if (error.timedOut) return `timed out after ${timeoutMs} ms`;
  if (error.exitCode !== undefined) return `exit code ${error.exitCode}${said}`;
  if (error.signal !== undefined) return `killed by ${error.signal}${said}`;
  return error.originalMessage ?? error.shortMessage;
}
