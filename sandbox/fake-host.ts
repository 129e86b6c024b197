// A fake host for the exporter, without systemd: temporary directories for the flag, the state, the
// runtime markers and a cgroup tree, and a fake systemd on a private bus (sandbox/fake-systemd.ts) whose
// units a test sets. Used by the unit and contract tests. (The real systemd sandbox is sandbox.ts.)
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandLineValues, type LoadedConfig, loadExporterConfig } from '../src/load-config.js';
import type { HostPaths } from '../src/unprivileged-side.js';
import { SWITCH_UNITS, WIRING_DEPENDENCIES, WIRING_UNITS, wiringProperties } from '../src/readers/ess-units.js';
import { dependencyText } from '../src/readers/wiring.js';
import { WIRING_RECORD_NAME } from '../src/readers/wiring-record.js';
import { parseAsserts } from './busctl-asserts.js';
import { type FakeWiring, FakeSystemd, type SystemdBehaviour, type UnitFixture } from './fake-systemd.js';
import { testTmpDir } from './test-tmp.js';
import { MONITOR, TRADING } from './units.js';

export type { UnitFixture } from './fake-systemd.js';

/** The ESS's own switch units, which the exporter always follows after the configured units. */
export const SWITCH = SWITCH_UNITS;

/** The units of a whole exporter: the switch units follow the configured ones, armed unless listed. */
export function exporterUnits(units: readonly (UnitFixture & { name: string })[]): (UnitFixture & { name: string })[] {
  const listed = new Set(units.map((u) => u.name));
  const armed = SWITCH.filter((name) => !listed.has(name)).map((name) =>
    name.endsWith('.path') ? { name, active: 'active', sub: 'waiting' } : { name, active: 'inactive', sub: 'dead' },
  );
  return [...units, ...armed];
}

/** busctl's text (the contract's form) for a unit whose latch drop-in asserts on `paths` (default: none). */
export function assertsText(...paths: readonly string[]): string {
  return `a(sbbsi) ${paths.length}${paths.map((path) => ` "AssertPathExists" false true "${path}" 0`).join('')}`;
}

/** busctl's text for a unit with the whole latch drop-in applied (contract section 1's guard). */
export function latchAssertsText(flagFile: string, stateDir: string, spoolDir: string): string {
  const entry = (type: string, path: string): string => ` "${type}" false true "${path}" 0`;
  return `a(sbbsi) 3${entry('AssertPathExists', flagFile)}${entry('AssertPathExists', `${stateDir}/latched`)}${entry('AssertDirectoryNotEmpty', `${spoolDir}/incoming`)}`;
}

const CONTROLLER = '/usr/local/lib/quantum-ess/ess_controller.sh';

/** An installation of the fake host's switch: each wiring unit as systemd loaded it (arbitrary, as recorded). */
function installedWiring(unit: string): FakeWiring {
  return unit.endsWith('.path')
    ? { FragmentPath: `/etc/systemd/system/${unit}`, DropInPaths: [], Triggers: [unit.replace(/\.path$/, '.service')], Paths: [['PathExists', `/run/fake/${unit}`]] }
    : {
        FragmentPath: `/etc/systemd/system/${unit}`,
        DropInPaths: [],
        Triggers: [],
        ExecStart: [[CONTROLLER, [CONTROLLER, 'activate', '--source', unit]]],
        // as systemd lists them: not sorted
        Requires: ['system.slice', 'sysinit.target'],
        After: ['sysinit.target', 'systemd-journald.socket', `${unit.replace(/\.service$/, '')}.path`, 'basic.target', 'system.slice'],
      };
}

/** The installer's record of that installation, in the contract's text forms (section 1). */
function wiringRecordText(): string {
  const text = (unit: string, property: string): string => {
    const wiring = installedWiring(unit);
    if (property === 'Paths') return `a(ss) ${wiring.Paths?.length} ${wiring.Paths?.map(([t, p]) => `"${t}" "${p}"`).join(' ')}`;
    if (property === 'ExecStart') {
      return `a(sasbttttuii) ${wiring.ExecStart?.length} ${wiring.ExecStart?.map(([p, argv]) => [`"${p}"`, argv.length, ...argv.map((a) => `"${a}"`)].join(' ')).join(' ')}`;
    }
    const value = wiring[property as 'FragmentPath' | 'DropInPaths' | 'Triggers' | (typeof WIRING_DEPENDENCIES)[number]] ?? [];
    return typeof value === 'string' ? value : (WIRING_DEPENDENCIES as readonly string[]).includes(property) ? dependencyText(property, value) : value.join(' ');
  };
  return WIRING_UNITS.flatMap((unit) => wiringProperties(unit).map((p) => `${unit} ${p}=${text(unit, p)}\n`)).join('');
}

/** A host without systemd: temporary directories, a fake systemd on a private bus, a fake cgroup tree. */
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
  /** The fake systemd itself, for what the setters below do not cover. */
  readonly systemd: FakeSystemd;
  /** Sets the listed units' states (exporterUnits: the switch units too); each change is signalled. */
  setUnits(units: readonly (UnitFixture & { name: string })[]): void;
  /** Sets one unit's Asserts from busctl's text (default: the whole latch drop-in); null: they cannot be read. */
  setAsserts(unit: string, text: string | null): void;
  /** Loads a switch unit otherwise than installed (a foreign drop-in, another ExecStart), by a daemon-reload. */
  setWiring(unit: string, changes: Partial<FakeWiring>): void;
  /** Writes (or with null removes) the installer's wiring record beside the ess.conf. */
  setWiringRecord(text: string | null): Promise<void>;
  /** Writes `populated 0|1` into the unit's cgroup.events under /system.slice in the fake hierarchy. */
  setPopulated(unit: string, populated: boolean): Promise<void>;
  /** Writes (or with null removes) /run/quantum-ess/NAME in the fake host. */
  setMarker(name: 'persist-failed' | 'resume-pending' | 'config-problem', content: string | null): Promise<void>;
  /** Writes /run/quantum-ess/exempt/UNIT in the fake host: the record as JSON, text as it is, or with null removes it. */
  setExemption(unit: string, content: ExemptionRecord | string | null): Promise<void>;
  /** Makes the fake systemd answer, hang (a hung PID 1: no answer, no signal) or fail every call. */
  setSystemdBehaviour(mode: SystemdBehaviour): void;
  /** Writes the exporter config with these keys over the fake host's, and loads it with the command line's values. */
  config(overrides?: Record<string, unknown>, commandLine?: CommandLineValues): Promise<LoadedConfig>;
  cleanup(): Promise<void>;
}

/** The fake host runs two trading and two monitor units of the one list (sandbox/units.ts). */
export const HOST_TRADING = [TRADING[0], TRADING[1]] as const;
export const HOST_MONITOR = [MONITOR[2], MONITOR[3]] as const;
const stem = (unit: string): string => unit.replace(/\.service$/, '');

export async function createFakeHost(): Promise<FakeHost> {
  const dir = await testTmpDir('ess-exporter-test-');
  const paths = { flagDir: join(dir, 'run'), stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run-ess'), cgroupRoot: join(dir, 'cgroup') };
  await mkdir(paths.flagDir);
  await mkdir(paths.stateDir);
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
  await writeFile(join(dir, WIRING_RECORD_NAME), `# fake installation\n${wiringRecordText()}`);
  const systemd = await FakeSystemd.start(dir);
  systemd.setDefaultAsserts(parseAsserts(latchAssertsText(`${paths.flagDir}/ESS_ON`, paths.stateDir, `${dir}/spool`)) ?? []);
  for (const unit of WIRING_UNITS) systemd.setWiring(unit, installedWiring(unit), false);
  const others = WIRING_UNITS.filter((unit) => !(SWITCH as readonly string[]).includes(unit)).map((name) => ({ name, active: 'inactive' }));
  systemd.setUnits([...exporterUnits([...HOST_TRADING, ...HOST_MONITOR].map((name) => ({ name, active: name.startsWith('quantum') ? 'inactive' : 'active' }))), ...others]);
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
    systemd,
    setUnits: (units) => systemd.setUnits(units),
    setAsserts: (unit, text) => systemd.setAsserts(unit, text === null ? null : parseAsserts(text)),
    setWiring: (unit, changes) => systemd.setWiring(unit, { ...installedWiring(unit), ...changes }),
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
    setSystemdBehaviour: (mode) => systemd.setBehaviour(mode),
    async config(overrides = {}, commandLine = {}) {
      await writeFile(
        configFile,
        JSON.stringify({
          listen: '127.0.0.1:0',
          ess_config_file: essConfFile,
          // the fake systemd's private bus, not this machine's
          system_bus_address: systemd.address,
          dbus_timeout_seconds: 0.5,
          ...overrides,
        }),
      );
      return loadExporterConfig(configFile, true, commandLine);
    },
    async cleanup() {
      await systemd.stopBus();
      await rm(dir, { recursive: true, force: true });
    },
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

