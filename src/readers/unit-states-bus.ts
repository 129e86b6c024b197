// D-Bus client: @jellybrick/dbus-next, pinned exactly in package.json. Chosen over
// - dbus-next 0.10.2: unmaintained since 2020 and depends on event-stream 3.3.4, the version line of the
//   2018 flatmap-stream supply-chain compromise;
// - dbus-native 0.16 (needs Node >= 22.12, the exporter supports 20.19) and @homebridge/dbus-native
//   (event-stream, hexy, long, minimist, xml2js: a larger dependency tree for the same wire code);
// because it is the maintained fork of dbus-next (MIT, releases in 2025-2026), pure JavaScript, ESM with
// types, and brings only fast-xml-parser/-builder (used for introspection, which this module never
// asks for). Only its public low-level API is used: sessionBus, Message, call, the 'message' and
// 'error' events, addMethodHandler, disconnect.
import type { EventEmitter } from 'node:events';
import { type DBusError, Message, MessageType, sessionBus, type MessageBus, type Variant } from '@jellybrick/dbus-next';
import { type AssertEntry, assertsOf, unitObjectPath } from './unit-asserts.js';
import { busProperty, dependencyText, formatExecStart, formatPaths } from './wiring.js';
import { WIRING_DEPENDENCIES } from './ess-units.js';
import { MANAGER, MANAGER_PATH, PROPERTIES, SYSTEMD, UNIT } from './systemd-dbus-names.js';
import { isRunningState, unitState, type UnitStatus } from './unit-status.js';

/** The unit types whose D-Bus interface has a ControlGroup property (systemctl show prints none for the others). */
const CGROUP_INTERFACES: Readonly<Record<string, string>> = {
  service: 'org.freedesktop.systemd1.Service',
  socket: 'org.freedesktop.systemd1.Socket',
  mount: 'org.freedesktop.systemd1.Mount',
  swap: 'org.freedesktop.systemd1.Swap',
  slice: 'org.freedesktop.systemd1.Slice',
  scope: 'org.freedesktop.systemd1.Scope',
};

export interface SystemdBusOptions {
  /** A D-Bus address, e.g. `unix:path=/run/dbus/system_bus_socket`. */
  readonly address: string;
  /** Every configured unit, by the name it was configured with. */
  readonly units: readonly string[];
  /** The units whose Asserts property is read (the trading units). */
  readonly assertsUnits: readonly string[];
  /** The units whose wiring is read (contract section 1); they must also be among `units`. */
  readonly wiringUnits?: readonly string[];
  /** Bounds the connection set-up and every call. */
  readonly timeoutMs: number;
}

export interface SystemdBusEvents {
  /** A unit's status was set or changed (the initial read included). */
  status(unit: string, status: UnitStatus): void;
  /** A trading unit's Asserts, entry by entry; null when they could not be read. */
  asserts(unit: string, entries: readonly AssertEntry[] | null): void;
  /** A wiring unit's loaded wiring, read afresh (a property that could not be read is missing). */
  wiring?(unit: string, properties: ReadonlyMap<string, string>): void;
  /** A read or a ping failed (the subscription may still be up). */
  readFailed(source: 'systemd' | 'asserts', error: unknown): void;
  /** Every configured unit (and its asserts) read afresh, or a ping answered. */
  readSucceeded(source: 'systemd' | 'asserts'): void;
  /** The connection is gone (a ping found the bus itself silent); the watch is dead and must be replaced. */
  down(error: unknown): void;
}

interface UnitRecord {
  loadState: string;
  activeState: string;
  subState: string;
  id: string;
  controlGroup: string;
  user: string;
}

/**
 * Unit states pushed by systemd: a connection to the system bus, systemd's Subscribe() (without which it
 * sends no unit change signals), match rules for the PropertiesChanged of the configured units' objects
 * and for the manager's Reloading signal and systemd's bus name changing hands (a restart or a re-exec).
 * Each unit is read in full at start, after every daemon-reload and when systemd comes back; in between,
 * PropertiesChanged carries ActiveState/SubState/LoadState as they change, and the unit's ControlGroup
 * and Asserts (which systemd does not signal) are read again after it. (UnitNew is not followed: reading
 * a unit that is not loaded loads it, and systemd unloads it again, so a read on each UnitNew would
 * loop; a unit loaded again signals its state changes on the same object path anyway.)
 *
 * Replies and signals are applied in the order they arrive on the one connection, synchronously in the
 * message handler: a reply resolved through a promise could otherwise be applied after a signal that
 * systemd sent later, and an old state would overwrite a newer one.
 */
export class SystemdBusWatch {
  #bus: MessageBus | undefined;
  #dead = false;
  readonly #records = new Map<string, UnitRecord>();
  /** Object path -> configured units (an alias and its canonical name share one object). */
  readonly #byPath = new Map<string, Set<string>>();
  readonly #matched = new Set<string>();
  /** Replies applied in arrival order (see the class comment), by the serial of the call. */
  readonly #onReply = new Map<number, (reply: Message) => void>();
  /** Units with a follow-up read in flight; true: another one is wanted after it. */
  readonly #followUps = new Map<string, boolean>();
  readonly #rereads = new Set<string>();
  /** Reads started by a signal and not finished yet, and who waits for them all to end (settled()). */
  #busy = 0;
  readonly #idle: (() => void)[] = [];
  /** The ping in flight, shared: a scrape-rate caller never stacks pings on a silent systemd. */
  #ping: Promise<void> | undefined;

  readonly #options: SystemdBusOptions;
  readonly #events: SystemdBusEvents;

  constructor(options: SystemdBusOptions, events: SystemdBusEvents) {
    this.#options = options;
    this.#events = events;
    for (const unit of options.units) this.#watchPath(unitObjectPath(unit), unit);
  }

  /** Connects, subscribes and reads every unit; rejects (and closes) when any of it fails or times out. */
  async start(): Promise<void> {
    const { address, timeoutMs } = this.#options;
    // sessionBus() is the library's "connect to this address" (systemBus() would take the address
    // from the environment instead). EXTERNAL only: the kernel vouches for our uid over AF_UNIX.
    const bus = sessionBus({ busAddress: address, authMethods: ['EXTERNAL'] });
    this.#bus = bus;
    // 'error' is emitted but missing from the library's event types
    const emitter = bus as unknown as EventEmitter;
    emitter.on('error', (error: unknown) => this.#fail(error));
    // The library does not tell when the bus closes the stream: a ping that the bus itself no longer
    // answers does (ping()).
    bus.on('message', (message) => this.#dispatch(message));
    // A method call arriving once closed would have the library answer on a closed stream, which
    // throws outside any caller: the exporter would crash. Closed, it answers nothing.
    bus.addMethodHandler(() => this.#dead);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          bus.once('connect', resolve);
          emitter.once('error', reject);
        }),
        timeoutMs,
        `no answer from the system bus at ${address}`,
      );
      await this.#addMatch(`type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${SYSTEMD}'`);
      await this.#addMatch(`type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='Reloading'`);
      await Promise.all([...this.#byPath.keys()].map((path) => this.#matchPath(path)));
      await this.#subscribe();
      await this.#readAll();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Asks systemd itself (not only the bus daemon) for an answer: a hung PID 1 must not look healthy.
   * When systemd does not answer, the bus daemon is asked too: when it does not answer either, the
   * connection is gone (the bus stopped or closed it) and the watch reports itself down.
   */
  ping(): Promise<void> {
    this.#ping ??= this.#pingOnce().finally(() => {
      this.#ping = undefined;
    });
    return this.#ping;
  }

  async #pingOnce(): Promise<void> {
    try {
      await this.#call({ destination: SYSTEMD, path: MANAGER_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
      this.#events.readSucceeded('systemd');
      return;
    } catch (error) {
      if (this.#dead) return;
      this.#events.readFailed('systemd', new Error('systemd does not answer on the bus', { cause: error }));
    }
    try {
      await this.#call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' });
    } catch (error) {
      this.#fail(new Error('the system bus does not answer', { cause: error }));
    }
  }

  /**
   * Resolves once every change systemd signalled before the call has been applied: the answer to a
   * ping comes after those signals on the one connection, and the reads they started have ended. For
   * a caller that has just changed systemd and wants to see it (the tests); a scrape never waits.
   */
  async settled(): Promise<void> {
    await this.ping();
    while (this.#busy > 0 && !this.#dead) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Runs a read started by a signal, counted until it ends (settled()). */
  #track(read: () => Promise<void>): void {
    this.#busy += 1;
    void read().finally(() => {
      this.#busy -= 1;
      if (this.#busy > 0) return;
      for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  close(): void {
    this.#dead = true;
    this.#onReply.clear();
    for (const resolve of this.#idle.splice(0)) resolve();
    this.#bus?.disconnect();
  }

  #fail(error: unknown): void {
    if (this.#dead) return;
    this.close();
    this.#events.down(error);
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'Subscribe' });
    } catch (error) {
      // Older systemd refuses a second Subscribe() from the same client; we are subscribed either way.
      if ((error as DBusError).type !== 'org.freedesktop.systemd1.AlreadySubscribed') throw error;
    }
  }

  /** Reads every configured unit; resolves once all have answered (or one failed, which is reported). */
  async #readAll(): Promise<void> {
    const units = this.#options.units;
    const results = await Promise.allSettled(units.map((unit) => this.#readUnit(unit)));
    const unread = units.filter((unit, index) => {
      const result = results[index];
      // stale asserts could hide a drop-in that just disabled the latch: unknown instead
      if (result?.status === 'rejected' && this.#options.assertsUnits.includes(unit)) this.#events.asserts(unit, null);
      return result?.status === 'fulfilled' && !result.value;
    });
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw new Error('cannot read the unit states over D-Bus', { cause: failure.reason });
    this.#events.readSucceeded('systemd');
    if (unread.length > 0) this.#events.readFailed('asserts', new Error(`no Asserts of type a(sbbsi) for ${unread.join(', ')}`));
    else if (this.#options.assertsUnits.length > 0) this.#events.readSucceeded('asserts');
  }

  /**
   * All of one unit: its Unit interface (states, Id, Asserts) and its ControlGroup; rejects when any
   * of it could not be read. False when it is a trading unit whose Asserts were missing or malformed.
   */
  async #readUnit(unit: string): Promise<boolean> {
    const path = unitObjectPath(unit);
    let wiring: Map<string, string> | undefined;
    let assertsRead = true;
    await this.#call({ destination: SYSTEMD, path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [UNIT] }, (reply) => {
      const properties = (reply.body[0] ?? {}) as Record<string, Variant>;
      const record = this.#records.get(unit) ?? { loadState: '', activeState: '', subState: '', id: unit, controlGroup: '', user: '' };
      record.id = stringOf(properties.Id, unit);
      record.loadState = stringOf(properties.LoadState, record.loadState);
      record.activeState = stringOf(properties.ActiveState, record.activeState);
      record.subState = stringOf(properties.SubState, record.subState);
      this.#records.set(unit, record);
      const canonical = unitObjectPath(record.id);
      if (canonical !== path) this.#watchPath(canonical, unit);
      this.#publish(unit);
      if (this.#options.assertsUnits.includes(unit)) {
        const entries = assertsOf(properties.Asserts);
        this.#events.asserts(unit, entries);
        assertsRead = entries !== null;
      }
      if (this.#options.wiringUnits?.includes(unit)) wiring = wiringOf(properties);
    });
    const canonical = unitObjectPath(this.#records.get(unit)?.id ?? unit);
    if (canonical !== path) await this.#matchPath(canonical);
    if (wiring !== undefined) await this.#readWiring(unit, wiring);
    await this.#readControlGroup(unit);
    if (this.#options.assertsUnits.includes(unit)) await this.#readUser(unit);
    return assertsRead;
  }

  /**
   * A trading service's User=, whose slice its helpers can move to (user-slice.ts). Read with the rest
   * of the unit: at start, after every daemon-reload (the only way it changes) and when systemd comes back.
   */
  async #readUser(unit: string): Promise<void> {
    const record = this.#records.get(unit);
    if (record === undefined || !record.id.endsWith('.service') || record.loadState === 'not-found') return;
    await this.#call(
      { destination: SYSTEMD, path: unitObjectPath(unit), interface: PROPERTIES, member: 'Get', signature: 'ss', body: [CGROUP_INTERFACES.service, 'User'] },
      (reply) => {
        const user = stringOf(reply.body[0] as Variant | undefined, '');
        if (record.user === user) return;
        record.user = user;
        this.#publish(unit);
      },
    );
  }

  /**
   * The type's part of a wiring unit (Paths or ExecStart), then the whole wiring reported. Read with
   * the rest of the unit: at start, after every daemon-reload (the only way it changes) and when
   * systemd comes back. A unit that is not loaded differs by its LoadState alone.
   */
  async #readWiring(unit: string, wiring: Map<string, string>): Promise<void> {
    if (wiring.get('LoadState') === 'loaded') {
      const { iface, name } = busProperty(unit);
      try {
        await this.#call(
          { destination: SYSTEMD, path: unitObjectPath(unit), interface: PROPERTIES, member: 'Get', signature: 'ss', body: [iface, name] },
          (reply) => {
            const variant = reply.body[0] as Variant | undefined;
            const text = name === 'Paths' ? formatPaths(variant) : formatExecStart(variant);
            if (text !== undefined) wiring.set(name, text);
          },
        );
      } catch (error) {
        this.#events.wiring?.(unit, wiring);
        throw error;
      }
    }
    this.#events.wiring?.(unit, wiring);
  }

  /** ControlGroup is not signalled by systemd: read after each change of the unit. */
  async #readControlGroup(unit: string): Promise<void> {
    const record = this.#records.get(unit);
    if (record === undefined) return;
    const iface = CGROUP_INTERFACES[record.id.slice(record.id.lastIndexOf('.') + 1)];
    if (iface === undefined || record.loadState === 'not-found') {
      this.#setControlGroup(unit, '');
      return;
    }
    await this.#call(
      { destination: SYSTEMD, path: unitObjectPath(unit), interface: PROPERTIES, member: 'Get', signature: 'ss', body: [iface, 'ControlGroup'] },
      (reply) => this.#setControlGroup(unit, stringOf(reply.body[0] as Variant | undefined, '')),
    );
  }

  #setControlGroup(unit: string, controlGroup: string): void {
    const record = this.#records.get(unit);
    if (record === undefined || record.controlGroup === controlGroup) return;
    record.controlGroup = controlGroup;
    this.#publish(unit);
  }

  /**
   * Re-reads a unit's ControlGroup and Asserts after a change signal, reporting failures. One at a time
   * per unit: the signals of a burst of changes coalesce into one more read after the one in flight.
   */
  #followUp(unit: string): void {
    if (this.#followUps.has(unit)) {
      this.#followUps.set(unit, true);
      return;
    }
    this.#track(async () => {
      do {
        this.#followUps.set(unit, false);
        await this.#readFollowUp(unit);
      } while (this.#followUps.get(unit) === true && !this.#dead);
      this.#followUps.delete(unit);
    });
  }

  async #readFollowUp(unit: string): Promise<void> {
    try {
      await this.#readControlGroup(unit);
      if (this.#options.assertsUnits.includes(unit)) {
        let entries: AssertEntry[] | null = null;
        await this.#call(
          { destination: SYSTEMD, path: unitObjectPath(unit), interface: PROPERTIES, member: 'Get', signature: 'ss', body: [UNIT, 'Asserts'] },
          (reply) => {
            entries = assertsOf(reply.body[0] as Variant | undefined);
            this.#events.asserts(unit, entries);
          },
        );
        if (entries === null) throw new Error('the Asserts are not of type a(sbbsi)');
        this.#events.readSucceeded('asserts');
      }
    } catch (error) {
      if (this.#dead) return;
      if (this.#options.assertsUnits.includes(unit)) this.#events.asserts(unit, null);
      this.#events.readFailed('asserts', new Error(`cannot re-read ${unit} after a change`, { cause: error }));
    }
  }

  /** Reads one unit in full again, at most one read in flight per unit. */
  #reread(unit: string): void {
    if (this.#rereads.has(unit)) return;
    this.#rereads.add(unit);
    this.#track(() =>
      this.#readUnit(unit)
        .then(() => undefined)
        .catch((error: unknown) => {
          if (!this.#dead) this.#events.readFailed('systemd', error);
        })
        .finally(() => this.#rereads.delete(unit)),
    );
  }

  #rereadAll(why: string): void {
    this.#track(() =>
      this.#readAll().catch((error: unknown) => {
        if (!this.#dead) this.#events.readFailed('systemd', new Error(`re-reading the units after ${why} failed`, { cause: error }));
      }),
    );
  }

  #publish(unit: string): void {
    const record = this.#records.get(unit);
    if (record === undefined) return;
    let state;
    try {
      state = unitState(record.loadState, record.activeState);
    } catch (error) {
      this.#events.readFailed('systemd', new Error(`${unit}: ${(error as Error).message}`));
      return;
    }
    this.#events.status(unit, {
      id: record.id,
      loadState: record.loadState,
      activeState: record.activeState,
      subState: record.subState,
      controlGroup: record.controlGroup,
      user: record.user,
      state,
    });
  }

  #dispatch(message: Message): void {
    if (this.#dead) return;
    if (message.type === MessageType.METHOD_RETURN || message.type === MessageType.ERROR) {
      const handler = message.replySerial === undefined ? undefined : this.#onReply.get(message.replySerial);
      if (handler === undefined) return;
      this.#onReply.delete(message.replySerial as number);
      if (message.type === MessageType.METHOD_RETURN) handler(message);
      return;
    }
    if (message.type !== MessageType.SIGNAL) return;
    try {
      this.#signal(message);
    } catch (error) {
      this.#events.readFailed('systemd', new Error(`cannot apply the signal ${message.member}`, { cause: error }));
    }
  }

  #signal(message: Message): void {
    const { interface: iface, member, body } = message;
    if (iface === PROPERTIES && member === 'PropertiesChanged') {
      const units = this.#byPath.get(message.path);
      if (units === undefined) return;
      const [changedIface, changed = {}, invalidated = []] = body as [string, Record<string, Variant>, string[]];
      for (const unit of units) {
        const record = this.#records.get(unit);
        if (record === undefined) continue;
        if (changedIface === UNIT) {
          record.loadState = stringOf(changed.LoadState, record.loadState);
          record.activeState = stringOf(changed.ActiveState, record.activeState);
          record.subState = stringOf(changed.SubState, record.subState);
          this.#publish(unit);
          if (['ActiveState', 'SubState', 'LoadState'].some((name) => invalidated.includes(name))) this.#reread(unit);
        }
        if (record.loadState !== 'loaded') {
          // Every read of a unit that is not loaded (not found, masked) loads it, and systemd unloads
          // it again at once: reading it after each of its signals would never end. Only a unit that
          // now runs was loaded for real (installed and started without a daemon-reload).
          if (isRunningState(record.activeState)) this.#reread(unit);
          continue;
        }
        this.#followUp(unit);
      }
    } else if (iface === MANAGER && member === 'Reloading') {
      // Drop-ins, masks and aliases may all have changed; nothing is signalled for them by the reload.
      if (body[0] === false) this.#rereadAll('a daemon-reload');
    } else if (iface === 'org.freedesktop.DBus' && member === 'NameOwnerChanged' && body[0] === SYSTEMD) {
      if (body[2] === '') {
        this.#events.readFailed('systemd', new Error('systemd left the system bus'));
        return;
      }
      // systemd re-executed or restarted: its subscriptions are gone with its old connection.
      this.#track(() =>
        this.#subscribe()
          .then(() => this.#readAll())
          .catch((error: unknown) => this.#fail(new Error('cannot subscribe again after systemd came back', { cause: error }))),
      );
    }
  }

  #watchPath(path: string, unit: string): void {
    const units = this.#byPath.get(path) ?? new Set<string>();
    units.add(unit);
    this.#byPath.set(path, units);
  }

  async #matchPath(path: string): Promise<void> {
    if (this.#matched.has(path)) return;
    this.#matched.add(path);
    await this.#addMatch(`type='signal',sender='${SYSTEMD}',path='${path}',interface='${PROPERTIES}',member='PropertiesChanged'`);
  }

  #addMatch(rule: string): Promise<Message | null> {
    return this.#call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  }

  /** A bounded method call; onReply runs in arrival order with the signals (see the class comment). */
  #call(
    fields: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] },
    onReply?: (reply: Message) => void,
  ): Promise<Message | null> {
    const bus = this.#bus;
    if (bus === undefined || this.#dead) return Promise.reject(new Error('not connected to the system bus'));
    const message = new Message(fields);
    let pending: Promise<Message | null>;
    try {
      pending = bus.call(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const serial = message.serial;
    if (onReply !== undefined && serial !== null) this.#onReply.set(serial, onReply);
    return withTimeout(pending, this.#options.timeoutMs, `${fields.member} on ${fields.path}: no answer`).finally(() => {
      if (serial !== null) this.#onReply.delete(serial);
    });
  }
}

/** The wiring's properties of the Unit interface, in the contract's text forms (lists joined by one space). */
function wiringOf(properties: Record<string, Variant>): Map<string, string> {
  const wiring = new Map<string, string>();
  for (const name of ['LoadState', 'FragmentPath'] as const) {
    const value = properties[name]?.value;
    if (typeof value === 'string') wiring.set(name, value);
  }
  for (const name of ['DropInPaths', 'Triggers'] as const) {
    const value = stringsOf(properties[name]);
    if (value !== undefined) wiring.set(name, value.join(' '));
  }
  for (const name of WIRING_DEPENDENCIES) {
    const value = stringsOf(properties[name]);
    if (value !== undefined) wiring.set(name, dependencyText(name, value));
  }
  return wiring;
}

function stringsOf(variant: Variant | undefined): readonly string[] | undefined {
  const value: unknown = variant?.value;
  return Array.isArray(value) && value.every((item): item is string => typeof item === 'string') ? value : undefined;
}

function stringOf(variant: Variant | undefined, fallback: string): string {
  return typeof variant?.value === 'string' ? variant.value : fallback;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
