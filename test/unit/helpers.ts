import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExporterConfig, loadExporterConfig } from '../../src/config/exporter-config.js';

export interface UnitFixture {
  readonly id?: string;
  readonly load?: string;
  readonly active: string;
  readonly sub?: string;
}

/** What `systemctl show --property=Id,LoadState,ActiveState,SubState` prints (systemd's property order). */
export function showOutput(units: readonly (UnitFixture & { name: string })[]): string {
  return units
    .map(({ name, id, load = 'loaded', active, sub = active === 'active' ? 'running' : 'dead' }) =>
      `Id=${id ?? name}\nLoadState=${load}\nActiveState=${active}\nSubState=${sub}\n`,
    )
    .join('\n');
}

/** The ESS's own path units, which the exporter always asks about after the configured units. */
export const SWITCH = ['quantum-ess.path', 'quantum-ess-trip.path'] as const;

/** showOutput for a whole exporter: the switch units follow the configured ones, armed unless listed. */
export function exporterShowOutput(units: readonly (UnitFixture & { name: string })[]): string {
  const listed = new Set(units.map((u) => u.name));
  const armed = SWITCH.filter((name) => !listed.has(name)).map((name) => ({ name, active: 'active', sub: 'waiting' }));
  return showOutput([...units, ...armed]);
}

export interface Sandbox {
  readonly dir: string;
  readonly flagFile: string;
  readonly stateFile: string;
  readonly configFile: string;
  readonly essConfFile: string;
  /** Sets what the fake systemctl prints next time. */
  setShowOutput(text: string): Promise<void>;
  /** Makes the fake systemctl slow (prints what it read at its start, 0.5 s later), hang (sleep in a child, the hard case) or fail. */
  setSystemctlBehaviour(mode: 'print' | 'slow' | 'hang' | 'fail'): Promise<void>;
  systemctlCalls(): Promise<number>;
  config(overrides?: Record<string, unknown>): Promise<ExporterConfig>;
  cleanup(): Promise<void>;
}

export const TRADING = ['quantum-ai-engine.service', 'quantum-execution.service'] as const;
export const MONITOR = ['redis-server.service', 'prometheus.service'] as const;

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'ess-exporter-test-'));
  const paths = {
    flagDir: join(dir, 'run'),
    stateDir: join(dir, 'state'),
    fakeSystemctl: join(dir, 'systemctl'),
    output: join(dir, 'show-output'),
    mode: join(dir, 'mode'),
    calls: join(dir, 'calls'),
  };
  await mkdir(paths.flagDir);
  await mkdir(paths.stateDir);
  const essConfFile = join(dir, 'ess.conf');
  await writeFile(
    essConfFile,
    [
      '# test config',
      'TRADING_UNITS="quantum-ai-engine quantum-execution"',
      'MONITOR_UNITS="redis-server prometheus"',
      `FLAG_FILE=${paths.flagDir}/ESS_ON`,
      `STATE_DIR=${paths.stateDir}`,
      `SPOOL_DIR=${dir}/spool`,
      'STOP_DEADLINE_SEC=2',
      '',
    ].join('\n'),
  );
  await writeFile(
    paths.fakeSystemctl,
    `#!/bin/sh
echo "$*" >> '${paths.calls}'
case $(cat '${paths.mode}') in
  hang) sleep 30; echo never ;;
  slow) out=$(cat '${paths.output}'); sleep 0.5; printf '%s\n' "$out" ;;
  fail) echo 'Failed to connect to bus: No such file or directory' >&2; exit 1 ;;
  *) cat '${paths.output}' ;;
esac
`,
  );
  await chmod(paths.fakeSystemctl, 0o755);
  await writeFile(paths.mode, 'print');
  await writeFile(
    paths.output,
    exporterShowOutput([...TRADING, ...MONITOR].map((name) => ({ name, active: name.startsWith('quantum') ? 'inactive' : 'active' }))),
  );
  const configFile = join(dir, 'ess-exporter.json');

  return {
    dir,
    flagFile: join(paths.flagDir, 'ESS_ON'),
    stateFile: join(paths.stateDir, 'state.json'),
    configFile,
    essConfFile,
    setShowOutput: (text) => writeFile(paths.output, text),
    setSystemctlBehaviour: (mode) => writeFile(paths.mode, mode),
    systemctlCalls: async () => {
      const text = await readFile(paths.calls, 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '').length;
    },
    async config(overrides = {}) {
      await writeFile(
        configFile,
        JSON.stringify({
          listen: '127.0.0.1:0',
          ess_config_file: essConfFile,
          systemctl_path: paths.fakeSystemctl,
          systemctl_timeout_seconds: 0.5,
          unit_state_cache_seconds: 0,
          ...overrides,
        }),
      );
      return loadExporterConfig(configFile, true);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export const STATE_EXAMPLE = {
  schema: 1,
  active: true,
  flag_id: '20261124T180217Z-18b2521c',
  updated_at: 1795543337.49,
  last_activation: {
    id: '20261124T180217Z-18b2521c',
    source: 'cli',
    actor: 'root',
    reason: 'r1',
    trigger_time: 1795543337.41,
    all_stopped_time: 1795543337.43,
    latency_seconds: 0.018969,
    result: 'ok',
    units: [{ unit: 'quantum-ai-engine.service', result: 'stopped', state: 'inactive', stop_seconds: 0.012 }],
  },
  last_deactivation: { time: 1795543333.18, actor: 'root', reason: 'drill over', result: 'ok', detail: '' },
  activations_total: { cli: 4, path: 4 },
};

export const silentLog = (): void => {};

/** One sample value from Prometheus text output, or undefined when the series is absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
