// Prometheus and Alertmanager, the real Debian binaries, run inside one sandbox as transient units
// (systemd-run) for the end-to-end tests: started, stopped like any service, and started again with
// the same storage (a restart, not a new instance).
import { waitUntil } from './fleet.js';
import type { Sandbox } from './sandbox.js';

/** Where the sandbox has this checkout (read-only). */
export const SRC = '/opt/quantum-ess-src';

export interface PrometheusOptions {
  readonly unit: string;
  readonly configFile: string;
  readonly port: number;
  /** More flags (e.g. a short --rules.alert.resend-delay). */
  readonly args?: readonly string[];
}

export interface AlertmanagerOptions {
  readonly unit: string;
  readonly configFile: string;
  readonly port: number;
  /** --web.external-url: what its notifications name as their sender. */
  readonly externalUrl?: string;
  /** Gossip: its own port and its peers' (all on 127.0.0.1); none: no cluster. */
  readonly cluster?: { readonly port: number; readonly peers: readonly number[]; readonly peerTimeout?: string; readonly settleTimeout?: string };
}

/** Starts (or starts again) a transient unit running argv; a unit left failed is cleared first. */
async function startUnit(box: Sandbox, unit: string, argv: readonly string[]): Promise<void> {
  await box.run('systemctl', 'reset-failed', unit);
  await box.mustRun('systemd-run', `--unit=${unit}`, ...argv);
}

export async function startPrometheus(box: Sandbox, o: PrometheusOptions): Promise<void> {
  await startUnit(box, o.unit, [
    '/usr/bin/prometheus', `--config.file=${o.configFile}`, `--storage.tsdb.path=/run/${o.unit}`,
    `--web.listen-address=127.0.0.1:${o.port}`, ...(o.args ?? []),
  ]);
}

/** Starts it and waits until its API answers ready (a cluster member may still be settling). */
export async function startAlertmanager(box: Sandbox, o: AlertmanagerOptions): Promise<void> {
  const cluster = o.cluster === undefined
    ? ['--cluster.listen-address=']
    : [`--cluster.listen-address=127.0.0.1:${o.cluster.port}`, ...o.cluster.peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
      ...(o.cluster.peerTimeout === undefined ? [] : [`--cluster.peer-timeout=${o.cluster.peerTimeout}`]),
      ...(o.cluster.settleTimeout === undefined ? [] : [`--cluster.settle-timeout=${o.cluster.settleTimeout}`])];
  await startUnit(box, o.unit, [
    '/usr/bin/prometheus-alertmanager', `--config.file=${o.configFile}`, `--storage.path=/run/${o.unit}`,
    `--web.listen-address=127.0.0.1:${o.port}`, ...(o.externalUrl === undefined ? [] : [`--web.external-url=${o.externalUrl}`]), ...cluster,
  ]);
  await waitUntil(`${o.unit} to be ready`, async () => (await box.run('curl', '-fs', `http://127.0.0.1:${o.port}/-/ready`)).exitCode === 0, 30_000, 200);
}

export interface PromResult {
  readonly status: string;
  readonly error?: string;
  readonly data: { readonly result: readonly { readonly metric: Record<string, string>; readonly value: [number, string] }[] };
}

/** One instant query, from inside the sandbox. */
export async function promQuery(box: Sandbox, expr: string, port = 9090): Promise<PromResult> {
  const out = await box.mustRun('curl', '-fsS', '--get', `http://127.0.0.1:${port}/api/v1/query`, '--data-urlencode', `query=${expr}`);
  return JSON.parse(out) as PromResult;
}

/** The alerts Prometheus has firing or pending, by their labels. */
export async function promAlerts(box: Sandbox, port = 9090): Promise<{ labels: Record<string, string>; state: string; activeAt: string }[]> {
  const out = await box.mustRun('curl', '-fsS', `http://127.0.0.1:${port}/api/v1/alerts`);
  return (JSON.parse(out) as { data: { alerts: { labels: Record<string, string>; state: string; activeAt: string }[] } }).data.alerts;
}

/** How many cluster members this Alertmanager sees once settled (0 while not ready or down). */
export async function clusterPeers(box: Sandbox, port: number): Promise<number> {
  const r = await box.run('curl', '-fsS', '--max-time', '3', `http://127.0.0.1:${port}/api/v2/status`);
  if (r.exitCode !== 0) return 0;
  const status = JSON.parse(r.stdout) as { cluster?: { status: string; peers?: unknown[] } };
  return status.cluster?.status === 'ready' ? (status.cluster.peers?.length ?? 0) : 0;
}
