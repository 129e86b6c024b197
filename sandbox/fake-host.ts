// A fake host for the exporter, without systemd: temporary directories for the flag, the state, the
// runtime markers and a cgroup tree, and a fake systemctl and busctl whose answers a test sets. Used by
// the unit and contract tests and by bench/exporter.bench.ts. (The real systemd sandbox is sandbox.ts.)
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type LoadedConfig, loadExporterConfig } from '../src/load-config.js';
import type { HostPaths } from '../src/unprivileged-side.js';
import { unitObjectPath } from '../src/readers/asserts.js';
import { SWITCH_UNITS, WIRING_UNITS, wiringProperties } from '../src/readers/ess-units.js';
import { WIRING_RECORD_NAME } from '../src/readers/wiring-record.js';
import { WIRING_SHOW_PROPERTIES } from '../src/readers/wiring.js';
import { testTmpDir } from './test-tmp.js';
import { MONITOR, TRADING } from './units.js';

export interface UnitFixture {
  readonly id?: string;
  readonly load?: string;
  readonly active: string;
  readonly sub?: string;
  /** Default: /system.slice/NAME while running, empty otherwise (systemd drops the cgroup of a stopped unit). */
  readonly cgroup?: string;
}

const RUNNING = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);

/** What `systemctl show --property=Id,LoadState,ActiveState,SubState,ControlGroup` prints (systemd's property order). */
export function showOutput(units: readonly (UnitFixture & { name: string })[]): string {
  return units
    .map(({ name, id, load = 'loaded', active, sub = active === 'active' ? 'running' : 'dead', cgroup }) => {
      const controlGroup = cgroup ?? (RUNNING.has(active) ? `/system.slice/${name}` : '');
      return `Id=${id ?? name}\nLoadState=${load}\nActiveState=${active}\nSubState=${sub}\nControlGroup=${controlGroup}\n`;
    })
    .join('\n');
}

/** The ESS's own switch units, which the exporter always asks about after the configured units. */
export const SWITCH = SWITCH_UNITS;

/** showOutput for a whole exporter: the switch units follow the configured ones, armed unless listed. */
export function exporterShowOutput(units: readonly (UnitFixture & { name: string })[]): string {
  const listed = new Set(units.map((u) => u.name));
  const armed = SWITCH.filter((name) => !listed.has(name)).map((name) =>
    name.endsWith('.path') ? { name, active: 'active', sub: 'waiting' } : { name, active: 'inactive', sub: 'dead' },
  );
  return showOutput([...units, ...armed]);
}

/** busctl's text for a unit whose latch drop-in asserts on `paths` (default: none). */
export function assertsText(...paths: readonly string[]): string {
  return `a(sbbsi) ${paths.length}${paths.map((path) => ` "AssertPathExists" false true "${path}" 0`).join('')}`;
}

/** busctl's text for a unit with the whole latch drop-in applied (contract section 1's guard). */
export function latchAssertsText(flagFile: string, stateDir: string, spoolDir: string): string {
  const entry = (type: string, path: string): string => ` "${type}" false true "${path}" 0`;
  return `a(sbbsi) 3${entry('AssertPathExists', flagFile)}${entry('AssertPathExists', `${stateDir}/latched`)}${entry('AssertDirectoryNotEmpty', `${spoolDir}/incoming`)}`;
}

/** An installation of the fake host's switch: each wiring unit's compared properties (arbitrary, equal to the record). */
export function installedWiring(): Map<string, Map<string, string>> {
  return new Map(
    WIRING_UNITS.map((unit) => {
      const props = new Map<string, string>(wiringProperties(unit).map((p) => [p, p === 'DropInPaths' ? '' : `${p} of ${unit}`]));
      props.set('FragmentPath', `/etc/systemd/system/${unit}`);
      return [unit, props] as const;
    }),
  );
}

/** What `systemctl show --property=LoadState,FragmentPath,DropInPaths,Triggers` prints for the wiring units. */
export function wiringShowOutput(wiring: ReadonlyMap<string, ReadonlyMap<string, string>>, loadStates: ReadonlyMap<string, string> = new Map()): string {
  return WIRING_UNITS.map((unit) =>
    WIRING_SHOW_PROPERTIES.map((p) => `${p}=${p === 'LoadState' ? (loadStates.get(unit) ?? 'loaded') : (wiring.get(unit)?.get(p) ?? '')}\n`).join(''),
  ).join('\n');
}

/** A host without systemd: temporary directories, a fake systemctl and busctl, a fake cgroup tree. */
export interface FakeHost {
  readonly dir: string;
  readonly flagFile: string;
  readonly stateFile: string;
  readonly configFile: string;
  readonly essConfFile: string;
  readonly stateDir: string;
  readonly spoolDir: string;
  /** Runtime markers and cgroup hierarchy inside the fake host, for `new UnprivilegedSide(..., hostPaths)`. */
  readonly hostPaths: HostPaths;
  /** Sets what the fake systemctl prints next time. */
  setShowOutput(text: string): Promise<void>;
  /** Sets what the fake busctl prints for one unit's Asserts (default: the whole latch drop-in); null: busctl fails for it. */
  setAsserts(unit: string, text: string | null): Promise<void>;
  /** Sets one wiring unit's loaded properties (default: as recorded); LoadState among them, others its Paths/ExecStart too. */
  setWiring(unit: string, properties: Readonly<Record<string, string>>): Promise<void>;
  /** Writes (or with null removes) the installer's wiring record beside the ess.conf. */
  setWiringRecord(text: string | null): Promise<void>;
  /** Writes `populated 0|1` into the unit's cgroup.events under /system.slice in the fake hierarchy. */
  setPopulated(unit: string, populated: boolean): Promise<void>;
  /** Writes (or with null removes) /run/quantum-ess/NAME in the fake host. */
  setMarker(name: 'persist-failed' | 'resume-pending' | 'config-problem', content: string | null): Promise<void>;
  /** Writes /run/quantum-ess/exempt/UNIT in the fake host: the record as JSON, text as it is, or with null removes it. */
  setExemption(unit: string, content: ExemptionRecord | string | null): Promise<void>;
  /** Makes the fake systemctl slow (prints what it read at its start, 0.5 s later), hang (sleep in a child, the hard case) or fail. */
  setSystemctlBehaviour(mode: 'print' | 'slow' | 'hang' | 'fail'): Promise<void>;
  systemctlCalls(): Promise<number>;
  config(overrides?: Record<string, unknown>): Promise<LoadedConfig>;
  cleanup(): Promise<void>;
}

/** The fake host runs two trading and two monitor units of the one list (sandbox/units.ts). */
export const HOST_TRADING = [TRADING[0], TRADING[1]] as const;
export const HOST_MONITOR = [MONITOR[2], MONITOR[3]] as const;
const stem = (unit: string): string => unit.replace(/\.service$/, '');

export async function createFakeHost(): Promise<FakeHost> {
  const dir = await testTmpDir('ess-exporter-test-');
  const paths = {
    flagDir: join(dir, 'run'),
    stateDir: join(dir, 'state'),
    fakeSystemctl: join(dir, 'systemctl'),
    output: join(dir, 'show-output'),
    mode: join(dir, 'mode'),
    calls: join(dir, 'calls'),
    fakeBusctl: join(dir, 'busctl'),
    asserts: join(dir, 'asserts'),
    wiring: join(dir, 'wiring'),
    runtimeDir: join(dir, 'run-ess'),
    cgroupRoot: join(dir, 'cgroup'),
  };
  await mkdir(paths.flagDir);
  await mkdir(paths.stateDir);
  await mkdir(paths.asserts);
  await mkdir(paths.wiring);
  await mkdir(paths.runtimeDir);
  await mkdir(join(paths.cgroupRoot, 'system.slice'), { recursive: true });
  await writeFile(join(paths.cgroupRoot, 'cgroup.controllers'), 'cpu memory pids\n');
  const essConfFile = join(dir, 'ess.conf');
  await writeFile(
    essConfFile,
    [
      '# test config',
      `TRADING_UNITS="${HOST_TRADING.map(stem).join(' ')}"`,
      `MONITOR_UNITS="${HOST_MONITOR.map(stem).join(' ')}"`,
      `START_ORDER="${[...HOST_TRADING].reverse().map(stem).join(' ')}"`,
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
# the wiring's own show (not counted among the calls): the same systemd, so the same behaviour
output='${paths.output}'
case $* in
  *--property=${WIRING_SHOW_PROPERTIES.join(',')}*) output='${paths.wiring}/show' ;;
  *) echo "$*" >> '${paths.calls}' ;;
esac
case $(cat '${paths.mode}') in
  hang) sleep 30; echo never ;;
  slow) out=$(cat "$output"); sleep 0.5; printf '%s\n' "$out" ;;
  fail) echo 'Failed to connect to bus: No such file or directory' >&2; exit 1 ;;
  *) cat "$output" ;;
esac
`,
  );
  await chmod(paths.fakeSystemctl, 0o755);
  // busctl get-property org.freedesktop.systemd1 OBJECT_PATH org.freedesktop.systemd1.Unit Asserts
  await writeFile(
    paths.fakeBusctl,
    `#!/bin/sh
case $5 in
  Paths|ExecStart) f='${paths.wiring}'/$(basename "$3").$5 ;;
  *) f='${paths.asserts}'/$(basename "$3"); [ -e "$f" ] || f='${paths.asserts}/default' ;;
esac
[ -s "$f" ] || { echo 'Failed to get property Asserts: Connection timed out' >&2; exit 1; }
cat "$f"
`,
  );
  await chmod(paths.fakeBusctl, 0o755);
  await writeFile(join(paths.asserts, 'default'), latchAssertsText(`${paths.flagDir}/ESS_ON`, paths.stateDir, `${dir}/spool`));
  const wiring = installedWiring();
  const loadStates = new Map<string, string>();
  const writeWiring = async (): Promise<void> => {
    await writeFile(join(paths.wiring, 'show'), wiringShowOutput(wiring, loadStates));
    for (const [unit, props] of wiring) {
      for (const name of ['Paths', 'ExecStart']) {
        const value = props.get(name);
        if (value !== undefined) await writeFile(join(paths.wiring, `${basename(unitObjectPath(unit))}.${name}`), value);
      }
    }
  };
  await writeWiring();
  const recordText = (): string =>
    [...installedWiring()].flatMap(([unit, props]) => [...props].map(([p, v]) => `${unit} ${p}=${v}\n`)).join('');
  await writeFile(join(dir, WIRING_RECORD_NAME), `# fake installation\n${recordText()}`);
  await writeFile(paths.mode, 'print');
  await writeFile(
    paths.output,
    exporterShowOutput([...HOST_TRADING, ...HOST_MONITOR].map((name) => ({ name, active: name.startsWith('quantum') ? 'inactive' : 'active' }))),
  );
  const configFile = join(dir, 'ess-exporter.json');

  return {
    dir,
    flagFile: join(paths.flagDir, 'ESS_ON'),
    stateFile: join(paths.stateDir, 'state.json'),
    configFile,
    essConfFile,
    stateDir: paths.stateDir,
    spoolDir: `${dir}/spool`,
    hostPaths: { runtimeDir: paths.runtimeDir, cgroupRoot: paths.cgroupRoot },
    setShowOutput: (text) => writeFile(paths.output, text),
    setAsserts: (unit, text) => writeFile(join(paths.asserts, basename(unitObjectPath(unit))), text ?? ''),
    async setWiring(unit, properties) {
      const props = wiring.get(unit);
      for (const [name, value] of Object.entries(properties)) {
        if (name === 'LoadState') loadStates.set(unit, value);
        else props?.set(name, value);
      }
      await writeWiring();
    },
    setWiringRecord: (text) => (text === null ? rm(join(dir, WIRING_RECORD_NAME), { force: true }) : writeFile(join(dir, WIRING_RECORD_NAME), text)),
    async setPopulated(unit, populated) {
      await mkdir(join(paths.cgroupRoot, 'system.slice', unit), { recursive: true });
      await writeFile(join(paths.cgroupRoot, 'system.slice', unit, 'cgroup.events'), `populated ${populated ? 1 : 0}\nfrozen 0\n`);
    },
    setMarker: (name, content) =>
      content === null ? rm(join(paths.runtimeDir, name), { force: true }) : writeFile(join(paths.runtimeDir, name), content),
    async setExemption(unit, content) {
      const file = join(paths.runtimeDir, 'exempt', unit);
      if (content === null) return rm(file, { force: true });
      await mkdir(join(paths.runtimeDir, 'exempt'), { recursive: true });
      return writeFile(file, typeof content === 'string' ? content : `${JSON.stringify(content)}\n`);
    },
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
          busctl_path: paths.fakeBusctl,
          // the fake systemctl and busctl, not this machine's bus
          system_bus_address: null,
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

/** An exemption file's record as the controller writes it (contract/README.md section 5). */
export interface ExemptionRecord {
  readonly unit: string;
  readonly since: number;
  readonly until: number;
  readonly actor: string;
  readonly reason: string;
}

