// The driver of sandbox/sandbox.sh, for the integration tests and the benchmarks: a real systemd booted
// in a throwaway systemd-nspawn container, provisioned by sandbox/provision.sh with stand-ins for the
// trading and monitor units (sandbox/units.ts) and the ESS installed by deploy/install.sh.
// ESS_SANDBOX_PREFIX (default empty) prefixes every container name, so that two runs on one machine
// never share a sandbox (sandbox.sh applies it).
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { FLAG, LATCHED, MONITOR, TRADING } from './units.js';

export { FLAG, LATCHED, MONITOR, START_ORDER, TRADING } from './units.js';

const sandboxScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sandbox.sh');

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One booted container; `name` as given to boot (sandbox.sh adds ESS_SANDBOX_PREFIX). */
export class Sandbox {
  private constructor(readonly name: string) {}

  /** Boots a fresh container and provisions it; `--no-ess` leaves the ESS uninstalled. */
  static async boot(name: string, options: { withEss?: boolean } = {}): Promise<Sandbox> {
    const box = new Sandbox(name);
    await execa('bash', [sandboxScript, 'down', name]);
    await execa('bash', [sandboxScript, 'up', name]);
    const args = options.withEss === false ? ['--no-ess'] : [];
    await box.mustRun('bash', '/opt/quantum-ess-src/sandbox/provision.sh', ...args);
    return box;
  }

  /** A container booted and provisioned by sandbox/fleet.sh, which also shuts it down. */
  static attach(name: string): Sandbox {
    return new Sandbox(name);
  }

  /** Fails unless the installed exporter runs: the tests that scrape it need a built dist/. */
  async requireExporter(): Promise<void> {
    if ((await this.show('quantum-ess-exporter.service', 'ActiveState')) !== 'active') {
      throw new Error('quantum-ess-exporter is not running in the sandbox: build it first (npm ci && npm run build)');
    }
  }

  /** One scrape of the installed exporter, from inside the container. */
  async scrape(): Promise<string> {
    return this.mustRun('curl', '-fsS', '--max-time', '5', 'http://127.0.0.1:10170/metrics');
  }

  async shutdown(): Promise<void> {
    await execa('bash', [sandboxScript, 'down', this.name], { reject: false });
  }

  /** Runs a command inside the container as root; never throws on a non-zero exit. */
  async run(...argv: string[]): Promise<RunResult> {
    const result = await execa('bash', [sandboxScript, 'exec', this.name, ...argv], {
      reject: false,
      stdin: 'ignore',
    });
    return {
      exitCode: result.exitCode ?? -1,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
    };
  }

  async sh(script: string): Promise<RunResult> {
    return this.run('bash', '-c', script);
  }

  async mustRun(...argv: string[]): Promise<string> {
    const r = await this.run(...argv);
    if (r.exitCode !== 0) {
      throw new Error(`in sandbox ${this.name}: '${argv.join(' ')}' exited ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    }
    return r.stdout;
  }

  async ess(...args: string[]): Promise<RunResult> {
    return this.run('/usr/local/sbin/ess_controller.sh', ...args);
  }

  async activeStates(units: readonly string[]): Promise<Record<string, string>> {
    const out = await this.mustRun('systemctl', 'show', '--property=ActiveState', '--', ...units);
    const states = out
      .split('\n')
      .filter((l) => l.startsWith('ActiveState='))
      .map((l) => l.slice('ActiveState='.length));
    return Object.fromEntries(units.map((u, i) => [u, states[i] ?? 'unknown']));
  }

  async show(unit: string, property: string): Promise<string> {
    return (await this.mustRun('systemctl', 'show', '-P', property, '--', unit)).trim();
  }

  async exists(file: string): Promise<boolean> {
    return (await this.run('test', '-e', file)).exitCode === 0;
  }

  async readFile(file: string): Promise<string> {
    return this.mustRun('cat', '--', file);
  }

  async stateJson(): Promise<StateFile> {
    return JSON.parse(await this.readFile('/var/lib/quantum-ess/state.json')) as StateFile;
  }

  /** Polls until every unit is in one of the wanted states; returns the states seen last. */
  async waitFor(units: readonly string[], wanted: readonly string[], timeoutMs = 5000): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await this.activeStates(units);
      if (Object.values(states).every((s) => wanted.includes(s))) return states;
      if (Date.now() > deadline) return states;
      await sleep(50);
    }
  }

  /** Applies an edited /etc/quantum/ess.conf: the installed copy is the configuration in force. */
  async reinstall(): Promise<void> {
    await this.mustRun('bash', '/opt/quantum-ess-src/deploy/install.sh');
  }

  /** Puts the box back to "ESS inactive, every unit running" between tests. */
  async reset(): Promise<void> {
    if ((await this.exists(FLAG)) || (await this.exists(LATCHED))) {
      await this.ess('deactivate', '--no-start', '--reason', 'test reset');
    }
    await this.mustRun('rm', '-f', '/run/quantum-ess/resume-pending', '/run/quantum-ess/persist-failed');
    await this.mustRun('/usr/local/sbin/ess_controller.sh', 'rearm');
    await this.mustRun('systemctl', 'reset-failed');
    await this.mustRun('systemctl', 'start', '--', ...TRADING, ...MONITOR);
    const states = await this.waitFor([...TRADING, ...MONITOR], ['active']);
    if (Object.values(states).some((s) => s !== 'active')) {
      throw new Error(`reset: not every unit is active: ${JSON.stringify(states)}`);
    }
  }
}

/** The value of one series (`name{labels}` exactly as exposed) in a scrape, undefined when absent. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export interface UnitResult {
  unit: string;
  result: string;
  state: string;
  stop_seconds: number | null;
}

export interface StateFile {
  schema: number;
  active: boolean;
  flag_id: string;
  last_activation: {
    id: string;
    source: string;
    actor: string;
    reason: string;
    trigger_time: number;
    all_stopped_time: number | null;
    latency_seconds: number | null;
    result: string;
    /** The scope of the trip requests that started it (contract/README.md section 3); absent in older files. */
    scope?: string | null;
    units: UnitResult[];
  } | null;
  last_deactivation: { time: number; actor: string; reason: string; result: string; detail: string } | null;
  last_tamper: { time: number; detail: string } | null;
  activations_total: Record<string, number>;
  tamper_total: number;
  leftover_kills_total: number;
}
