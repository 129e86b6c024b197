import { describe, type Log } from '../io/log.js';
import type { ReadHealth } from './read-health.js';
import type { AssertEntry } from './unit-asserts.js';
import { SystemdBusWatch } from './unit-states-bus.js';
import type { UnitState, UnitStatus } from './unit-status.js';
import { type UnitProperties, WIRING_UNITS } from './ess-units.js';

export interface UnitStatesOptions {
  /** The system bus, e.g. `unix:path=/run/dbus/system_bus_socket`. */
  readonly systemBusAddress: string;
  readonly units: readonly string[];
  readonly tradingUnits: readonly string[];
  /** Bounds the connection set-up and every D-Bus call. */
  readonly timeoutMs: number;
}

/**
 * Reconnecting after the bus was lost (or never reached): the first retry after RECONNECT_FIRST_MS, each
 * next one twice as late, never later than RECONNECT_MAX_MS, so a bus that comes back is followed within
 * 5 s and a bus that stays away costs one bounded attempt per 5 s.
 */
export const RECONNECT_FIRST_MS = 500;
export const RECONNECT_MAX_MS = 5_000;
/** How often systemd is pinged while subscribed: a hung PID 1 shows within a second. */
const PING_MS = 1_000;

/** What the unit-states collector renders. */
export interface UnitStatesView {
  /** Whether the D-Bus subscription is up. */
  subscribed(): boolean;
  ageSeconds(): number | null;
  transitions(): ReadonlyMap<string, ReadonlyMap<UnitState, number>>;
}

/**
 * The unit states, unit assertions, the switch's wiring and the state transitions, pushed by systemd
 * over a D-Bus subscription (one source: an unprivileged process has no other way to ask systemd). A
 * scrape never waits for the bus: the states are the last pushed ones. While the bus is unavailable the
 * last known states stay, the systemd read fails (verdict unknown, the age grows) and the subscription
 * is tried again with a bounded backoff.
 */
export class UnitStates implements UnitStatesView {
  #watch: SystemdBusWatch | undefined;
  #subscribed = false;
  #statuses: Map<string, UnitStatus> | null = null;
  readonly #asserts = new Map<string, readonly AssertEntry[] | null>();
  readonly #wiring = new Map<string, UnitProperties>();
  readonly #lastState = new Map<string, UnitState>();
  readonly #transitionCounts = new Map<string, Map<UnitState, number>>();
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectMs = RECONNECT_FIRST_MS;
  #pingTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #reportedBusDown = false;

  readonly #options: UnitStatesOptions;
  readonly #health: ReadHealth;
  readonly #log: Log;
  readonly #now: () => number;

  constructor(options: UnitStatesOptions, health: ReadHealth, log: Log, now: () => number = Date.now) {
    this.#options = options;
    this.#health = health;
    this.#log = log;
    this.#now = now;
  }

  /** Tries the bus once (bounded by timeoutMs); without it, tries again with the backoff. */
  async start(): Promise<void> {
    await this.#connect();
  }

  subscribed(): boolean {
    return this.#subscribed;
  }

  /** null while never read. */
  current(): ReadonlyMap<string, UnitStatus> | null {
    return this.#statuses;
  }

  /** Trading units never read are missing, which counts as not read. */
  currentAsserts(): ReadonlyMap<string, readonly AssertEntry[] | null> {
    return this.#asserts;
  }

  /**
   * The switch's wiring as systemd loaded it (contract section 1), read again after every
   * daemon-reload, the only way it changes. Units never read are missing (unknown).
   */
  currentWiring(): ReadonlyMap<string, UnitProperties> {
    return this.#wiring;
  }

  /** Changes of each unit's ess_unit_state seen since the start, by the state entered. */
  transitions(): ReadonlyMap<string, ReadonlyMap<UnitState, number>> {
    return this.#transitionCounts;
  }

  /**
   * Seconds since the unit states were last known to be current: 0 while the subscription is up and
   * systemd answers; null while never read.
   */
  ageSeconds(): number | null {
    const health = this.#health.get('systemd');
    if (this.#subscribed && health.ok) return 0;
    return health.lastSuccessSeconds === null ? null : Math.max(0, this.#now() / 1000 - health.lastSuccessSeconds);
  }

  /**
   * Resolves once what systemd signalled before the call has been applied (see SystemdBusWatch);
   * at once while not subscribed.
   */
  async settled(): Promise<void> {
    await this.#watch?.settled();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    this.#watch?.close();
    this.#watch = undefined;
    this.#subscribed = false;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const watch = this.#newWatch();
    this.#watch = watch;
    try {
      await watch.start();
    } catch (error) {
      if (this.#watch === watch) this.#watch = undefined;
      this.#busUnavailable(new Error(`cannot subscribe to systemd over D-Bus at ${this.#options.systemBusAddress}`, { cause: error }));
      return;
    }
    if (this.#closed) {
      watch.close();
      return;
    }
    this.#reportedBusDown = false;
    this.#subscribed = true;
    this.#reconnectMs = RECONNECT_FIRST_MS;
    this.#log(`unit states: subscribed to systemd over D-Bus (${this.#options.systemBusAddress})`);
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => void this.#watch?.ping(), PING_MS);
    this.#pingTimer.unref();
  }

  #newWatch(): SystemdBusWatch {
    const watch: SystemdBusWatch = new SystemdBusWatch(
      {
        address: this.#options.systemBusAddress,
        // the wiring units are read and followed like the configured ones (ess_unit_state renders only those)
        units: [...new Set([...this.#options.units, ...WIRING_UNITS])],
        assertsUnits: this.#options.tradingUnits,
        wiringUnits: WIRING_UNITS,
        timeoutMs: this.#options.timeoutMs,
      },
      {
        status: (unit, status) => this.#watch === watch && this.#setStatus(unit, status),
        asserts: (unit, entries) => this.#watch === watch && this.#asserts.set(unit, entries),
        wiring: (unit, properties) => this.#watch === watch && this.#wiring.set(unit, properties),
        readFailed: (source, error) => this.#watch === watch && this.#health.failed(source, error),
        readSucceeded: (source) => this.#watch === watch && this.#health.succeeded(source),
        down: (error) => {
          if (this.#watch !== watch) return;
          this.#watch = undefined;
          this.#busUnavailable(new Error('lost the D-Bus subscription', { cause: error }));
        },
      },
    );
    return watch;
  }

  /** The states are unknown from now on (their last known values stay); the bus is tried again. */
  #busUnavailable(error: Error): void {
    this.#subscribed = false;
    clearInterval(this.#pingTimer);
    this.#health.failed('systemd', error);
    if (!this.#reportedBusDown) {
      this.#reportedBusDown = true;
      this.#log(`unit states: unknown while the system bus is unavailable (retrying within ${RECONNECT_MAX_MS / 1000} s): ${describe(error)}`, 'warning');
    }
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), this.#reconnectMs);
    this.#reconnectTimer.unref();
    this.#reconnectMs = Math.min(this.#reconnectMs * 2, RECONNECT_MAX_MS);
  }

  #setStatus(unit: string, status: UnitStatus): void {
    const statuses = new Map(this.#statuses ?? []);
    statuses.set(unit, status);
    this.#statuses = statuses;
    const before = this.#lastState.get(unit);
    this.#lastState.set(unit, status.state);
    if (before === undefined || before === status.state) return;
    const counts = this.#transitionCounts.get(unit) ?? new Map<UnitState, number>();
    counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
    this.#transitionCounts.set(unit, counts);
  }
}
