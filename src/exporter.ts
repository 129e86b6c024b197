import type { Registry } from 'prom-client';
import type { BuildInfo } from './build-info.js';
import type { ExporterConfig } from './config/exporter-config.js';
import { type ConfiguredUnit, createMetricsRegistry } from './metrics/registry.js';
import { WebhookMetrics } from './metrics/webhook-metrics.js';
import { FlagReader } from './readers/flag.js';
import { type Log, ReadHealth } from './readers/read-health.js';
import { StateFileReader } from './readers/state-file.js';
import { SystemdReader } from './readers/systemd.js';
import { WebhookReceiver } from './webhook/receiver.js';

/** Installed by deploy/install.sh under these fixed names. */
const SWITCH_UNITS = ['quantum-ess.path', 'quantum-ess-trip.path'] as const;

/** One exporter instance: its readers, their health, the registry rendered from them and its webhook receiver. */
export class Exporter {
  readonly registry: Registry;
  readonly webhook: WebhookReceiver;
  readonly health: ReadHealth;
  readonly units: readonly ConfiguredUnit[];
  readonly flag: FlagReader;
  readonly stateFile: StateFileReader;
  readonly systemd: SystemdReader;

  constructor(
    readonly config: ExporterConfig,
    buildInfo: BuildInfo,
    readonly log: Log,
  ) {
    const { ess } = config;
    this.health = new ReadHealth(log);
    this.units = [
      ...ess.tradingUnits.map((unit): ConfiguredUnit => ({ unit, role: 'trading' })),
      ...ess.monitorUnits.map((unit): ConfiguredUnit => ({ unit, role: 'monitor' })),
      ...SWITCH_UNITS.map((unit): ConfiguredUnit => ({ unit, role: 'switch' })),
    ];
    // Unit states cached from before a latch change would show every trading unit as a violation.
    this.flag = new FlagReader(ess.flagFile, this.health, () => this.systemd.invalidate());
    this.stateFile = new StateFileReader(ess.stateDir, this.health);
    this.systemd = new SystemdReader(
      {
        systemctlPath: config.systemctlPath,
        timeoutMs: config.systemctlTimeoutMs,
        cacheMs: config.unitStateCacheMs,
        units: this.units.map(({ unit }) => unit),
      },
      this.health,
    );
    this.registry = createMetricsRegistry({
      units: this.units,
      buildInfo,
      health: this.health,
      flagPresent: () => this.flag.isPresent(),
      state: () => this.stateFile.current(),
      unitStatuses: () => this.systemd.current(),
    });
    this.webhook = new WebhookReceiver(config.webhook, ess.spoolDir, new WebhookMetrics(this.registry), log);
  }

  /** Watches the flag and reads everything once, so the first scrape already has values. */
  async start(): Promise<void> {
    await this.flag.watch();
    await this.refresh();
  }

  /** Brings every source up to date; never rejects (failures land in health and the error counters). */
  async refresh(): Promise<void> {
    await this.flag.check(); // first: a change it finds must invalidate the cached unit states
    await Promise.all([this.stateFile.read(), this.systemd.refresh()]);
  }

  async close(): Promise<void> {
    await this.flag.close();
  }
}
