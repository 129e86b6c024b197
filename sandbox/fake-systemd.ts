// A fake systemd for the unit and contract tests, on a private bus: a dbus-daemon of its own (a session
// bus whose socket lies in the fake host's directory) and on it org.freedesktop.systemd1, answering what
// the exporter asks of the real one (Subscribe, the Unit properties, ControlGroup, User, Paths, ExecStart, a
// ping) and sending the signals the real one sends (PropertiesChanged on a unit's change, Reloading
// around a daemon-reload). The tests set its units through sandbox/fake-host.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Message, type MessageBus, NameFlag, RequestNameReply, sessionBus, Variant } from '@jellybrick/dbus-next';
import type { AssertEntry } from '../src/readers/unit-asserts.js';
import { unitObjectPath } from '../src/readers/unit-asserts.js';
import { MANAGER, MANAGER_PATH, PROPERTIES, SYSTEMD, UNIT } from '../src/readers/systemd-dbus-names.js';
import { isRunningState } from '../src/readers/unit-status.js';


/** A unit's state as a test sets it; the rest as systemd would have it. */
export interface UnitFixture {
  readonly id?: string;
  readonly load?: string;
  readonly active: string;
  readonly sub?: string;
  /** Default: /system.slice/NAME while running, empty otherwise (systemd drops the cgroup of a stopped unit). */
  readonly cgroup?: string;
  /** A service's User=; default empty (root). */
  readonly user?: string;
}

/** What systemd loaded for a unit of the switch: the wiring properties (contract section 1), as D-Bus values. */
export interface FakeWiring {
  readonly FragmentPath: string;
  readonly DropInPaths: readonly string[];
  readonly Triggers: readonly string[];
  /** A .path unit's Paths: (type, path). */
  readonly Paths?: readonly (readonly [string, string])[];
  /** A .service unit's ExecStart: (path, argv). */
  readonly ExecStart?: readonly (readonly [string, readonly string[]])[];
  /** Dependencies, in any order (systemd lists a set in no fixed one); none when left out. */
  readonly Requires?: readonly string[];
  readonly Requisite?: readonly string[];
  readonly BindsTo?: readonly string[];
  readonly After?: readonly string[];
  readonly ConflictedBy?: readonly string[];
}

/** answer: as systemd does; hang: never answers (a hung PID 1); fail: answers every call with an error. */
export type SystemdBehaviour = 'answer' | 'hang' | 'fail';

interface UnitRecord {
  readonly id: string;
  readonly load: string;
  readonly active: string;
  readonly sub: string;
  readonly cgroup: string;
  readonly user: string;
}

function recordOf(name: string, { id, load = 'loaded', active, sub, cgroup, user = '' }: UnitFixture): UnitRecord {
  const running = isRunningState(active);
  return { id: id ?? name, load, active, sub: sub ?? (running ? 'running' : 'dead'), cgroup: cgroup ?? (running ? `/system.slice/${name}` : ''), user };
}

/** The unit name an object path stands for (the reverse of unitObjectPath). */
function unitOfPath(path: string): string {
  const label = path.slice(path.lastIndexOf('/') + 1);
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i += 1) {
    const escaped = label[i] === '_' ? /^[0-9a-f]{2}$/.exec(label.slice(i + 1, i + 3)) : null;
    if (escaped === null) bytes.push(label.charCodeAt(i));
    else {
      bytes.push(parseInt(escaped[0], 16));
      i += 2;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export class FakeSystemd {
  readonly #units = new Map<string, UnitRecord>();
  readonly #asserts = new Map<string, readonly AssertEntry[] | null>();
  readonly #wiring = new Map<string, FakeWiring>();
  #defaultAsserts: readonly AssertEntry[] = [];
  #behaviour: SystemdBehaviour = 'answer';

  #daemon: ChildProcess | undefined;
  #bus: MessageBus | undefined;

  private constructor(
    readonly dir: string,
    readonly address: string,
  ) {}

  /** Starts the bus daemon (its socket in `dir`) and takes systemd's name on it. */
  static async start(dir: string): Promise<FakeSystemd> {
    const systemd = new FakeSystemd(dir, `unix:path=${join(dir, 'bus')}`);
    await systemd.startBus();
    return systemd;
  }

  /** The bus (again, after stopBus(): the same address, the units as they were). */
  async startBus(): Promise<void> {
    const config = join(this.dir, 'bus.conf');
    await rm(join(this.dir, 'bus'), { force: true });
    await writeFile(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>${this.address}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
`,
    );
    // its stderr only matters when it does not start (as root in a container it warns about its fd limit)
    const daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#daemon = daemon;
    // a test that fails before its cleanup must not leave the daemon behind its process
    const orphaned = (): boolean => daemon.kill('SIGTERM');
    process.once('exit', orphaned);
    daemon.once('exit', () => process.removeListener('exit', orphaned));
    let stderr = '';
    daemon.stderr?.on('data', (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
    const ready = once(createInterface({ input: daemon.stdout as NodeJS.ReadableStream }), 'line');
    const failed = Promise.race([once(daemon, 'error'), once(daemon, 'exit')]).then(([cause]: unknown[]) =>
      Promise.reject(new Error(`cannot start dbus-daemon (Debian package dbus-daemon): ${stderr.trim() || String(cause)}`, { cause })),
    );
    await Promise.race([ready, failed]);
    const bus = sessionBus({ busAddress: this.address, authMethods: ['EXTERNAL'] });
    this.#bus = bus;
    // A call still in flight when the bus is stopped would have the library answer on a closed stream,
    // which throws outside any caller: a disconnected connection answers nothing.
    bus.addMethodHandler((message) => this.#bus !== bus || this.#handle(message));
    const reply = await bus.requestName(SYSTEMD, NameFlag.DO_NOT_QUEUE);
    if (reply !== RequestNameReply.PRIMARY_OWNER) throw new Error(`cannot own ${SYSTEMD} on the fake bus (reply ${reply})`);
  }

  /** Stops the bus daemon: every connection to it ends, as when the system bus goes away. */
  async stopBus(): Promise<void> {
    this.#bus?.disconnect();
    this.#bus = undefined;
    const daemon = this.#daemon;
    this.#daemon = undefined;
    if (daemon !== undefined && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      await exited;
    }
  }

  /** Sets the listed units' states; each one that changed signals it, as systemd does. */
  setUnits(units: readonly (UnitFixture & { readonly name: string })[]): void {
    for (const unit of units) {
      const before = this.#units.get(unit.name);
      const after = recordOf(unit.name, unit);
      this.#units.set(unit.name, after);
      if (before === undefined || JSON.stringify(before) === JSON.stringify(after)) continue;
      const changed = { LoadState: new Variant('s', after.load), ActiveState: new Variant('s', after.active), SubState: new Variant('s', after.sub) };
      this.#signal(unitObjectPath(after.id), PROPERTIES, 'PropertiesChanged', 'sa{sv}as', [UNIT, changed, []]);
    }
  }

  /** The Asserts of every unit not set on its own. */
  setDefaultAsserts(entries: readonly AssertEntry[]): void {
    this.#defaultAsserts = entries;
  }

  /** A unit's Asserts (null: they cannot be read); applied as by a daemon-reload, the only way they change. */
  setAsserts(unit: string, entries: readonly AssertEntry[] | null): void {
    this.#asserts.set(unit, entries);
    this.daemonReload();
  }

  /** A switch unit's wiring as loaded; applied by a daemon-reload when `reload`. */
  setWiring(unit: string, wiring: FakeWiring, reload = true): void {
    this.#wiring.set(unit, wiring);
    if (reload) this.daemonReload();
  }

  /** The Reloading signals of a daemon-reload (nothing else is signalled by one). */
  daemonReload(): void {
    this.#signal(MANAGER_PATH, MANAGER, 'Reloading', 'b', [true]);
    this.#signal(MANAGER_PATH, MANAGER, 'Reloading', 'b', [false]);
  }

  setBehaviour(behaviour: SystemdBehaviour): void {
    this.#behaviour = behaviour;
  }

  #signal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    if (this.#behaviour === 'answer') this.#send(Message.newSignal(path, iface, member, signature, body));
  }

  #send(message: Message): void {
    this.#bus?.send(message);
  }

  /** Every method call to systemd's name; true: answered here (or, hung, on purpose not at all). */
  #handle(message: Message): boolean {
    if (this.#behaviour === 'hang') return true;
    if (this.#behaviour === 'fail') {
      this.#send(Message.newError(message, 'org.freedesktop.DBus.Error.Failed', 'fake systemd: failing on purpose'));
      return true;
    }
    if (message.interface === 'org.freedesktop.DBus.Peer') return false; // the library answers Ping
    if (message.path === MANAGER_PATH && message.interface === MANAGER && ['Subscribe', 'Unsubscribe'].includes(message.member ?? '')) {
      this.#send(Message.newMethodReturn(message));
      return true;
    }
    const unit = message.path?.startsWith('/org/freedesktop/systemd1/unit/') ? unitOfPath(message.path) : undefined;
    const reply = unit === undefined || message.interface !== PROPERTIES ? undefined : this.#properties(unit, message);
    this.#send(reply ?? Message.newError(message, 'org.freedesktop.DBus.Error.UnknownMethod', `fake systemd: no ${message.interface}.${message.member} on ${message.path}`));
    return true;
  }

  #properties(unit: string, message: Message): Message | undefined {
    const [iface, name] = message.body as [string, string?];
    const all = this.#unitProperties(unit);
    if (message.member === 'GetAll' && iface === UNIT) return Message.newMethodReturn(message, 'a{sv}', [all]);
    if (message.member !== 'Get' || name === undefined) return undefined;
    const value = iface === UNIT ? all[name] : this.#typeProperty(unit, name);
    return value === undefined ? Message.newError(message, 'org.freedesktop.DBus.Error.UnknownProperty', `fake systemd: ${name} cannot be read`) : Message.newMethodReturn(message, 'v', [value]);
  }

  /** The Unit interface: a unit that was never set is not found, as systemd says of a unit without a file. */
  #unitProperties(unit: string): Record<string, Variant> {
    const record = this.#recordOf(unit);
    const wiring = this.#wiring.get(record.id);
    const asserts = this.#asserts.has(unit) ? this.#asserts.get(unit) : this.#defaultAsserts;
    return {
      Id: new Variant('s', record.id),
      LoadState: new Variant('s', record.load),
      ActiveState: new Variant('s', record.active),
      SubState: new Variant('s', record.sub),
      FragmentPath: new Variant('s', wiring?.FragmentPath ?? ''),
      DropInPaths: new Variant('as', [...(wiring?.DropInPaths ?? [])]),
      Triggers: new Variant('as', [...(wiring?.Triggers ?? [])]),
      Requires: new Variant('as', [...(wiring?.Requires ?? [])]),
      Requisite: new Variant('as', [...(wiring?.Requisite ?? [])]),
      BindsTo: new Variant('as', [...(wiring?.BindsTo ?? [])]),
      After: new Variant('as', [...(wiring?.After ?? [])]),
      ConflictedBy: new Variant('as', [...(wiring?.ConflictedBy ?? [])]),
      ...(asserts === null || asserts === undefined ? {} : { Asserts: new Variant('a(sbbsi)', asserts.map((a) => [a.type, a.trigger, a.negate, a.parameter, a.state])) }),
    };
  }

  /** ControlGroup, User, Paths, ExecStart: the type's own interface. */
  #typeProperty(unit: string, name: string): Variant | undefined {
    const record = this.#recordOf(unit);
    if (name === 'ControlGroup') return new Variant('s', record.cgroup);
    if (name === 'User' && record.id.endsWith('.service')) return new Variant('s', record.user);
    const wiring = this.#wiring.get(record.id);
    if (name === 'Paths' && wiring?.Paths !== undefined) return new Variant('a(ss)', wiring.Paths.map(([type, path]) => [type, path]));
    if (name === 'ExecStart' && wiring?.ExecStart !== undefined) {
      return new Variant(
        'a(sasbttttuii)',
        wiring.ExecStart.map(([path, argv]) => [path, [...argv], false, 0n, 0n, 0n, 0n, 0, 0, 0]),
      );
    }
    return undefined;
  }

  #recordOf(unit: string): UnitRecord {
    return this.#units.get(unit) ?? [...this.#units.values()].find((record) => record.id === unit) ?? { id: unit, load: 'not-found', active: 'inactive', sub: 'dead', cgroup: '', user: '' };
  }
}
