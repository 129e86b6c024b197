import type { BuildInfo } from './io/build-info.js';
import { registerIdentityMetric } from './collectors/identity-metrics.js';
import { registerCollectors } from './collectors/registry.js';
import { RenderingRegistry } from './collectors/rendering-registry.js';
import type { ConfiguredUnit } from './collectors/unit-status-metrics.js';
import type { Served } from './http/server.js';
import type { Log } from './io/log.js';
import { type LoadedConfig, loadWebConfig } from './load-config.js';
import { mergeWebConfig } from './config/exporter-config.js';
import { CgroupReader, DEFAULT_CGROUP_ROOT } from './readers/cgroup.js';
import { type DrillRecord, drillFileReader } from './readers/drill-file.js';
import { ActionResultsReader } from './readers/action-results.js';
import { registerActionResultsMetrics } from './collectors/action-results-metrics.js';
import { currentExemptions, type Exemption } from './readers/exemptions.js';
import { FlagReader } from './readers/flag.js';
import type { JsonFileReader } from './readers/json-file.js';
import { DEFAULT_RUNTIME_DIR, LatchMarkersReader } from './readers/latch-markers.js';
import { READ_SOURCES, ReadHealth } from './readers/read-health.js';
import { type EssState, stateFileReader } from './readers/state-file.js';
import type { UnitStatus } from './readers/unit-status.js';
import { UnitStates } from './readers/unit-states.js';
import { WiringRecordReader, wiringRecordPath } from './readers/wiring-record.js';
import { SWITCH_UNITS } from './readers/ess-units.js';
import { type LatchView, observeLatch } from './verdict/observed-verdict.js';
import { registerWatchdogStatusMetrics } from './collectors/watchdog-status-metrics.js';
import { WatchdogStatusReader } from './readers/watchdog-status.js';
import { HeartbeatRecorder } from './webhook/heartbeat.js';
import { WebhookReceiver } from './webhook/receiver.js';
import { WebhookMetrics } from './webhook/webhook-metrics.js';
import { WEBHOOK_PATH, webhookRouter } from './webhook/webhook-router.js';

/** Fixed host locations the exporter reads; tests point them into a sandbox. */
export interface HostPaths {
  /** The root side's runtime markers (persist-failed, resume-pending, exempt/). */
  readonly runtimeDir: string;
  /** Where the cgroup hierarchies are mounted. */
  readonly cgroupRoot: string;
}

export const DEFAULT_HOST_PATHS: HostPaths = { runtimeDir: DEFAULT_RUNTIME_DIR, cgroupRoot: DEFAULT_CGROUP_ROOT };

/**
 * Everything on the unprivileged side of the privilege boundary (contract/README.md), in one process:
 * the observer (readers -> verdict -> collectors) and the trigger (the webhook receiver, which can only
 * add trip requests to the spool). They share one Registry, one log and one lifecycle.
 */
export class UnprivilegedSide {
  readonly registry = new RenderingRegistry();
  readonly webhook: WebhookReceiver;
  readonly health: ReadHealth;
  readonly units: readonly ConfiguredUnit[];
  readonly flag: FlagReader;
  readonly stateFile: JsonFileReader<EssState>;
  readonly drillFile: JsonFileReader<DrillRecord>;
  readonly markers: LatchMarkersReader;
  /** Unit states, assertions and the switch's wiring: pushed by systemd over D-Bus. */
  readonly unitStates: UnitStates;
  readonly cgroup: CgroupReader;
  /** The installer's record of the switch's wiring, beside the ess.conf in force. */
  readonly wiringRecord: WiringRecordReader;
  /** The dead man's switch as the root side last judged it. */
  readonly watchdogStatus: WatchdogStatusReader;
  /** The on-trip actions' last results. */
  readonly actionResults: ActionResultsReader;
  /** Milliseconds since the epoch; tests move it to see an exemption end. */
  readonly #now: () => number;
  /** The verdict the collectors of the rendering under way share (#latchOfRender). */
  #renderLatch: { readonly render: number; readonly view: LatchView } | undefined;

  constructor(
    readonly config: LoadedConfig,
    buildInfo: BuildInfo,
    readonly log: Log,
    hostPaths: HostPaths = DEFAULT_HOST_PATHS,
    now: () => number = Date.now,
  ) {
    this.#now = now;
    const { ess } = config;
    this.health = new ReadHealth(log, now);
    this.units = [
      ...ess.tradingUnits.map((unit): ConfiguredUnit => ({ unit, role: 'trading' })),
      ...ess.monitorUnits.map((unit): ConfiguredUnit => ({ unit, role: 'monitor' })),
      ...SWITCH_UNITS.map((unit): ConfiguredUnit => ({ unit, role: 'switch' })),
    ];
    this.flag = new FlagReader(ess.flagFile, this.health);
    this.stateFile = stateFileReader(ess.stateDir, this.health);
    this.drillFile = drillFileReader(ess.stateDir, this.health);
    this.markers = new LatchMarkersReader(ess.stateDir, hostPaths.runtimeDir, ess.tradingUnits, this.health);
    this.unitStates = new UnitStates(
      {
        systemBusAddress: config.systemBusAddress,
        units: this.units.map(({ unit }) => unit),
        tradingUnits: ess.tradingUnits,
        timeoutMs: config.dbusTimeoutMs,
      },
      this.health,
      log,
    );
    this.cgroup = new CgroupReader(hostPaths.cgroupRoot, this.health);
    this.wiringRecord = new WiringRecordReader(wiringRecordPath(config.essConfigFile), this.health);
    registerCollectors(this.registry, {
      units: this.units,
      buildInfo,
      health: this.health,
      latch: () => this.#latchOfRender(),
      state: () => this.stateFile.current(),
      unitStatuses: () => this.unitStates.current(),
      exemptions: () => this.exemptions(),
      drill: () => this.drillFile.current(),
      unitStates: this.unitStates,
    });
    registerIdentityMetric(this.registry, config.webhook.identity);
    this.watchdogStatus = new WatchdogStatusReader(hostPaths.runtimeDir, log);
    registerWatchdogStatusMetrics(
      this.registry,
      { action: ess.values.WATCHDOG_ACTION, maxSilenceSec: Number(ess.values.WATCHDOG_MAX_SILENCE_SEC) },
      { current: () => this.watchdogStatus.current(), stale: () => this.watchdogStatus.stale() },
    );
    this.actionResults = new ActionResultsReader(ess.stateDir, log);
    registerActionResultsMetrics(this.registry, () => this.actionResults.current());
    const heartbeats = new HeartbeatRecorder(ess.spoolDir, this.registry, log, now, { maxSilenceSec: Number(ess.values.WATCHDOG_MAX_SILENCE_SEC) });
    this.webhook = new WebhookReceiver(config.webhook, ess.spoolDir, new WebhookMetrics(this.registry), log, heartbeats);
  }

  /** Watches the flag and reads everything once, so the first scrape already has values. */
  async start(): Promise<void> {
    await Promise.all([this.flag.watch(), this.unitStates.start()]);
    await this.refresh();
  }

  /** Brings every source up to date; never rejects (failures land in health and the error counters). */
  async refresh(): Promise<void> {
    const statuses = this.unitStates.current();
    await Promise.all([
      this.flag.check(),
      this.stateFile.read(),
      this.drillFile.read(),
      this.markers.read(),
      this.wiringRecord.read(),
      this.watchdogStatus.read(),
      this.actionResults.read(),
      // the cgroups to look at come from the unit states last pushed
      statuses && this.cgroup.read(tradingControlGroups(statuses, this.config.ess.tradingUnits), tradingUsers(statuses, this.config.ess.tradingUnits)),
    ]);
  }

  /** latch() judged once for all the collectors of one rendering, instead of once for each metric. */
  #latchOfRender(): LatchView {
    const { renders } = this.registry;
    if (this.#renderLatch?.render !== renders) this.#renderLatch = { render: renders, view: this.latch() };
    return this.#renderLatch.view;
  }

  /** The contract's verdict on the last known readings. */
  latch(): LatchView {
    return observeLatch(
      {
        flag: this.flag.isPresent(),
        flagDirRedirected: this.flag.isRedirected(),
        wiringRecord: this.wiringRecord.current(),
        wiring: this.unitStates.currentWiring(),
        markers: this.markers.current(),
        statuses: this.unitStates.current(),
        systemdOk: this.health.get('systemd').ok,
        asserts: this.unitStates.currentAsserts(),
        populated: this.cgroup.current(),
        userSlices: this.cgroup.currentUserSlices(),
        exempt: new Set(this.exemptions()?.keys()),
      },
      this.config.ess.tradingUnits,
      this.config.ess,
    );
  }

  /**
   * The maintenance exemptions in force now, by trading unit; null before the first read. Judged at
   * every call rather than at read time, so an exemption ends at its `until` even between refreshes.
   */
  exemptions(): ReadonlyMap<string, Exemption> | null {
    const files = this.markers.exemptions();
    return files && currentExemptions(files, this.#now() / 1000);
  }

  /** What the HTTP server serves, and all of this side it may touch. */
  served(): Served {
    const { registry, webhook, config } = this;
    const { metrics } = webhook;
    return {
      renderMetrics: async () => {
        await this.refresh();
        return registry.metrics();
      },
      get metricsContentType() {
        return registry.contentType;
      },
      health: async () => {
        await this.refresh();
        // the trip path is health too: an exporter that cannot write a trip is no ok ESS exporter
        const tripPath = webhook.tripPath();
        return { ok: this.health.allOk() && tripPath.ok, reads: this.readsHealth(), trip_path: tripPath };
      },
      routes: webhookRouter(webhook, this.log),
      log: this.log,
      listenSource: config.listenSource,
      exposure: { tokenFile: config.webhook.tokenFile, tls: config.web.tls !== null, allowPlainHttpToken: config.allowPlainHttpToken },
      web: config.web,
      telemetryPath: config.telemetryPath,
      rereadWeb: async () => mergeWebConfig(await loadWebConfig(config.web.file), config.legacyTls, config.configFile),
      // Alertmanager sends its bearer token in the Authorization header basic authentication would read
      ownAuthPaths: [WEBHOOK_PATH],
      tlsReloads: metrics.tlsReloads,
      tlsCertInUse: (notAfterMs) => {
        metrics.tlsCertNotAfterSeconds = Number.isFinite(notAfterMs) ? notAfterMs / 1000 : undefined;
      },
      connectionClosed: (reason) => metrics.connectionsClosed.inc({ reason }),
    };
  }

  /** Each read's health, as GET /healthz shows it. */
  readsHealth(): Record<string, unknown> {
    return Object.fromEntries(
      READ_SOURCES.map((source) => {
        const health = this.health.get(source);
        return [source, { ok: health.ok, errors: health.errors, last_error: health.lastError, last_success_timestamp_seconds: health.lastSuccessSeconds }];
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.flag.close(), this.unitStates.close(), this.webhook.close()]);
  }
}

function tradingControlGroups(statuses: ReadonlyMap<string, UnitStatus>, tradingUnits: readonly string[]): Map<string, string> {
  return new Map(tradingUnits.map((unit) => [unit, statuses.get(unit)?.controlGroup ?? ''] as const));
}

function tradingUsers(statuses: ReadonlyMap<string, UnitStatus>, tradingUnits: readonly string[]): Map<string, string> {
  return new Map(tradingUnits.map((unit) => [unit, statuses.get(unit)?.user ?? ''] as const));
}
