import { AssertsReader } from './asserts.js';
import { describe, type Log } from '../io/log.js';
import type { ReadHealth } from './read-health.js';
import { SystemdBusWatch } from './unit-states-bus.js';
import type { UnitState, UnitStatus } from './systemctl-show.js';
import { SystemdReader } from './unit-states-systemctl.js';
import { WiringPoll } from './wiring.js';
import { type UnitProperties, WIRING_UNITS } from './ess-units.js';

/** dbus: pushed by systemd over a subscription; poll: the bounded, cached systemctl/busctl runs. */
export const UNIT_SOURCES = ['dbus', 'poll'] as const;
export type UnitSource = (typeof UNIT_SOURCES)[number];

export interface UnitStatesOptions {
  /** null: no D-Bus, poll only. */
  readonly systemBusAddress: string | null;
  readonly units: readonly string[];
  readonly tradingUnits: readonly string[];
  readonly systemctlPath: string;
  readonly busctlPath: string;
  /** Bounds every systemctl/busctl run and every D-Bus call. */
  readonly timeoutMs: number;
  /** Poll: how long a result is reused. D-Bus: how often systemd is pinged (at least once a second). */
  readonly cacheMs: number;
  /** How long after losing (or never getting) the bus it is tried again. */
  readonly reconnectMs?: number;
}

const DEFAULT_RECONNECT_MS = 5_000;

/** What the unit-states collector renders. */
export interface UnitStatesView {
  source(): UnitSource;
  ageSeconds(): number | null;
  transitions(): ReadonlyMap<string, ReadonlyMap<UnitState, number>>;
}

/**
 * The unit states, unit assertions and their transitions, from systemd's D-Bus signals when the bus is
 * there, from bounded polling (batched systemctl show, busctl) when it is not. A scrape never waits for
 * the bus: with the subscription up, refresh() returns at once and the states are the last pushed ones.
 */
export class UnitStates implements UnitStatesView {
  readonly #poll: SystemdReader;
  readonly #pollAsserts: AssertsReader;
  readonly #pollWiring: WiringPoll;
  #watch: SystemdBusWatch | undefined;
  #sourceNow: UnitSource = 'poll';
  #statuses: Map<string, UnitStatus> | null = null;
  #asserts = new Map<string, string>();
  readonly #wiring = new Map<string, UnitProperties>();
  readonly #lastState = new Map<string, UnitState>();
  readonly #transitionCounts = new Map<string, Map<UnitState, number>>();
  #lastPolled: ReadonlyMap<string, UnitStatus> | null = null;
  #reconnectTimer: NodeJS.Timeout | undefined;
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
    const bounded = { timeoutMs: options.timeoutMs, cacheMs: options.cacheMs };
    this.#poll = new SystemdReader({ ...bounded, systemctlPath: options.systemctlPath, units: options.units }, health, now);
    this.#pollAsserts = new AssertsReader({ ...bounded, busctlPath: options.busctlPath, units: options.tradingUnits }, health, now);
    this.#pollWiring = new WiringPoll({ ...bounded, systemctlPath: options.systemctlPath, busctlPath: options.busctlPath, units: WIRING_UNITS }, health, now);
  }

  /** Tries the bus once (bounded by timeoutMs); without it, polling until a retry gets it. */
  async start(): Promise<void> {
    if (this.#options.systemBusAddress === null) return;
    await this.#connect();
  }

  source(): UnitSource {
    return this.#sourceNow;
  }

  /** null while never read. */
  current(): ReadonlyMap<string, UnitStatus> | null {
    return this.#statuses;
  }

  /** Trading units never read are missing, which counts as empty text. */
  currentAsserts(): ReadonlyMap<string, string> {
    return this.#sourceNow === 'dbus' ? this.#asserts : this.#pollAsserts.current();
  }

  /**
   * The switch's wiring as systemd loaded it (contract section 1): over D-Bus read again after every
   * daemon-reload, the only way it changes; polled while the bus is unavailable. Units never read are
   * missing (unknown).
   */
  currentWiring(): ReadonlyMap<string, UnitProperties> {
    return this.#sourceNow === 'dbus' ? this.#wiring : this.#pollWiring.current();
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
    if (this.#sourceNow === 'dbus' && health.ok) return 0;
    return health.lastSuccessSeconds === null ? null : Math.max(0, this.#now() / 1000 - health.lastSuccessSeconds);
  }

  /** A latch change: cached polled results must not be reused (the bus needs nothing). */
  invalidate(): void {
    this.#poll.invalidate();
    this.#pollAsserts.invalidate();
  }

  /** The polled wiring read afresh at the next refresh (it changes only on a daemon-reload). */
  invalidateWiring(): void {
    this.#pollWiring.invalidate();
  }

  /** Polls when the bus is not in use; never waits for the bus. */
  async refresh(): Promise<void> {
    if (this.#sourceNow === 'dbus') return;
    const [statuses] = await Promise.all([this.#poll.refresh(), this.#pollAsserts.refresh(), this.#pollWiring.refresh()]);
    if (this.#sourceNow !== 'poll' || statuses === null || statuses === this.#lastPolled) return;
    this.#lastPolled = statuses;
    for (const [unit, status] of statuses) this.#setStatus(unit, status);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    this.#watch?.close();
    this.#watch = undefined;
  }

  async #connect(): Promise<void> {
    if (this.#closed || this.#options.systemBusAddress === null) return;
    const watch = new SystemdBusWatch(
      {
        address: this.#options.systemBusAddress,
        // the wiring units are read and followed like the configured ones (ess_unit_state renders only those)
        units: [...new Set([...this.#options.units, ...WIRING_UNITS])],
        assertsUnits: this.#options.tradingUnits,
        wiringUnits: WIRING_UNITS,
        timeoutMs: this.#options.timeoutMs,
      },
      {
        status: (unit, status) => {
          if (this.#watch === watch) this.#setStatus(unit, status);
        },
        asserts: (unit, text) => {
          if (this.#watch === watch) this.#asserts.set(unit, text);
        },
        wiring: (unit, properties) => {
          if (this.#watch === watch) this.#wiring.set(unit, properties);
        },
        readFailed: (source, error) => {
          if (this.#watch === watch) this.#health.failed(source, error);
        },
        readSucceeded: (source) => {
          if (this.#watch === watch) this.#health.succeeded(source);
        },
        down: (error) => {
          if (this.#watch === watch) this.#busLost(error);
        },
      },
    );
    this.#watch = watch;
    try {
      await watch.start();
    } catch (error) {
      if (this.#watch === watch) this.#watch = undefined;
      if (!this.#reportedBusDown) {
        this.#reportedBusDown = true;
        this.#log(`unit states: D-Bus unavailable, polling systemctl instead (retrying every ${this.#reconnectMs() / 1000} s): ${describe(error)}`);
      }
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      watch.close();
      return;
    }
    this.#reportedBusDown = false;
    this.#sourceNow = 'dbus';
    this.#lastPolled = null;
    this.#log(`unit states: subscribed to systemd over D-Bus (${this.#options.systemBusAddress})`);
    const pingMs = Math.max(1000, this.#options.cacheMs);
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => void this.#watch?.ping(), pingMs);
    this.#pingTimer.unref();
  }

  #busLost(error: unknown): void {
    this.#watch = undefined;
    clearInterval(this.#pingTimer);
    this.#sourceNow = 'poll';
    // Polled results from before the subscription are older than what the bus told us.
    this.invalidate();
    this.#health.failed('systemd', new Error('lost the D-Bus subscription, polling systemctl instead', { cause: error }));
    this.#reportedBusDown = true;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), this.#reconnectMs());
    this.#reconnectTimer.unref();
  }

  #reconnectMs(): number {
    return this.#options.reconnectMs ?? DEFAULT_RECONNECT_MS;
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
