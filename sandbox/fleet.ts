// The driver of sandbox/fleet.sh for the fleet tests and the fleet benchmark: N trading hosts (each a
// real systemd in its own network namespace on one bridge, with the ESS and its exporter installed),
// one Prometheus and two Alertmanagers clustered by gossip. Alerts are posted to the Alertmanagers'
// API the way Prometheus posts them (to every Alertmanager), and the hosts are seen from outside:
// systemd's own timestamps, state.json, the audit trail and the exporters' metrics.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { FLAG, LATCHED, Sandbox, TRADING, type StateFile } from './sandbox.js';

const fleetScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fleet.sh');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The wall clock in µs, sub-millisecond: comparable with systemd's realtime timestamps (one kernel). */
export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS request trusting only the fleet's CA (fetch cannot be given a CA). */
export function httpsRequest(
  url: string,
  options: { ca: string; method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, timeout: options.timeoutMs ?? 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

interface FleetDescription {
  readonly prefix: string;
  readonly bridge: string;
  readonly state_dir: string;
  readonly hosts: readonly { name: string; box: string; ip: string; groups: string[]; veth: string; webhook: string }[];
  readonly prometheus: string;
  readonly alertmanagers: readonly string[];
  readonly ca_file: string;
  readonly token_file: string;
}

/** systemd's D-Bus object path of a unit (each byte outside [A-Za-z0-9] as _xx). */
function unitObjectPath(unit: string): string {
  const escaped = [...unit].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('');
  return `/org/freedesktop/systemd1/unit/${escaped}`;
}

const STOP_TIMES = TRADING.map(
  (u) => `busctl get-property org.freedesktop.systemd1 ${unitObjectPath(u)} org.freedesktop.systemd1.Unit InactiveEnterTimestamp`,
).join('; ');

/** Where the unified cgroup hierarchy is mounted (cgroup v2, or the hybrid layout's unified part). */
const UNIFIED = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

export class FleetHost {
  #cgroup: string | undefined;

  constructor(
    readonly name: string,
    readonly ip: string,
    readonly groups: readonly string[],
    readonly box: Sandbox,
    readonly containerName: string,
    /** The fleet CA's certificate (PEM), the one trust anchor for every host's HTTPS listener. */
    readonly ca: string,
  ) {}

  get webhookUrl(): string {
    return `https://${this.ip}:10170/alertmanager`;
  }

  /** The container's cgroup (the container's own systemd manages the tree below it). */
  async cgroup(): Promise<string> {
    if (this.#cgroup === undefined) {
      const base = process.env.ESS_SANDBOX_BASE ?? '/tmp/quantum-ess-sandbox';
      const leader = (await readFile(`${base}/${this.containerName}/leader.pid`, 'utf8')).trim();
      const line = (await readFile(`/proc/${leader}/cgroup`, 'utf8')).split('\n').find((l) => l.startsWith('0::'));
      if (line === undefined) throw new Error(`${this.name}: no unified cgroup for PID ${leader}`);
      this.#cgroup = `${UNIFIED}${line.slice(3).replace(/\/init\.scope$/, '')}`;
    }
    return this.#cgroup;
  }

  /**
   * Whether no trading unit has a process left, read from the cgroup files without running anything
   * (a cheap poll that leaves the CPU to the stop being measured); systemd has the last word.
   */
  async tradingEmpty(): Promise<boolean> {
    const root = await this.cgroup();
    const populated = await Promise.all(
      TRADING.map(async (u) => (await readFile(`${root}/system.slice/${u}/cgroup.events`, 'utf8').catch(() => 'populated 0')).includes('populated 1')),
    );
    return !populated.some(Boolean);
  }

  /** RSS of every process of the container, MiB. */
  async rssMiB(): Promise<number> {
    let kib = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const pid of (await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '')).split('\n').filter(Boolean)) {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      }
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) await walk(`${dir}/${entry.name}`);
      }
    };
    await walk(await this.cgroup());
    return kib / 1024;
  }

  get metricsUrl(): string {
    return `https://${this.ip}:10170/metrics`;
  }

  /** Whether every trading unit is down (inactive or failed). */
  async tradingStopped(): Promise<boolean> {
    const states = await this.box.activeStates(TRADING);
    return Object.values(states).every((s) => s === 'inactive' || s === 'failed');
  }

  async tradingRunning(): Promise<boolean> {
    const states = await this.box.activeStates(TRADING);
    return Object.values(states).every((s) => s === 'active');
  }

  async latched(): Promise<boolean> {
    return (await this.box.exists(FLAG)) || (await this.box.exists(LATCHED));
  }

  /** systemd's realtime µs at which the last trading unit went inactive. */
  async lastStopUs(): Promise<number> {
    const out = await this.box.mustRun('bash', '-c', STOP_TIMES);
    return Math.max(...out.trim().split('\n').map((line) => Number(line.split(' ')[1])));
  }

  async state(): Promise<StateFile> {
    return this.box.stateJson();
  }

  /** Activations recorded, all sources (state.json's counters, which ess_activations_total exposes). */
  async activations(): Promise<number> {
    const state = await this.state().catch(() => null);
    return Object.values(state?.activations_total ?? {}).reduce((a, b) => a + b, 0);
  }

  /** The audit trail's entries, parsed. */
  async audit(): Promise<{ event: string; source?: string; reason?: string; [k: string]: unknown }[]> {
    const r = await this.box.run('cat', '/var/log/quantum-ess/audit.jsonl');
    if (r.exitCode !== 0) return [];
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { event: string });
  }

  async scrape(): Promise<string> {
    const answer = await httpsRequest(this.metricsUrl, { ca: this.ca });
    if (answer.status !== 200) throw new Error(`${this.name}: GET ${this.metricsUrl} -> ${answer.status}`);
    return answer.body;
  }

  /** POSTs an Alertmanager notification to this host's webhook, as Alertmanager does. */
  async postWebhook(body: string, token: string): Promise<HttpAnswer> {
    return httpsRequest(this.webhookUrl, {
      ca: this.ca,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body,
    });
  }

  /** Deactivation by the controller on this host, as the human at the host does it (ISO 13850). */
  async deactivate(reason: string): Promise<void> {
    if (await this.latched()) {
      const r = await this.box.ess('deactivate', '--reason', reason);
      if (r.exitCode !== 0) throw new Error(`${this.name}: deactivate exited ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    }
    await waitUntil(`${this.name}: every trading unit running`, () => this.tradingRunning(), 15_000, 100);
  }
}

export interface Alert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export class Fleet {
  private constructor(
    readonly description: FleetDescription,
    readonly hosts: readonly FleetHost[],
    /** The bearer token every host's webhook accepts (the one Alertmanager's credentials file holds). */
    readonly token: string,
  ) {}

  /** Tears down any earlier fleet of this prefix, boots a new one of n hosts and waits until ready. */
  static async up(n: number): Promise<Fleet> {
    await execa('bash', [fleetScript, 'down']);
    const result = await execa('bash', [fleetScript, 'up', String(n)], { reject: false, all: true });
    if (result.exitCode !== 0) {
      await execa('bash', [fleetScript, 'down'], { reject: false });
      throw new Error(`fleet.sh up ${n} exited ${result.exitCode}\n${String(result.all)}`);
    }
    const file = (await execa('bash', [fleetScript, 'state'])).stdout.trim();
    const description = JSON.parse(await readFile(file, 'utf8')) as FleetDescription;
    const ca = await readFile(description.ca_file, 'utf8');
    const token = (await readFile(description.token_file, 'utf8')).trim();
    const hosts = description.hosts.map((h) => new FleetHost(h.name, h.ip, h.groups, Sandbox.attach(h.box), `${description.prefix}${h.box}`, ca));
    return new Fleet(description, hosts, token);
  }

  async down(): Promise<void> {
    await execa('bash', [fleetScript, 'down'], { reject: false });
  }

  host(name: string): FleetHost {
    const host = this.hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`no host ${name} in the fleet`);
    return host;
  }

  get alertmanagers(): readonly string[] {
    return this.description.alertmanagers;
  }

  /**
   * Posts the alert firing to the Alertmanagers (all of them, or those given by index from 0), as
   * Prometheus does; an unreachable one is reported, not thrown. Resolves to the wall clock in µs just
   * before the posts went out, and which Alertmanagers accepted it.
   */
  async fire(alert: Alert, only?: readonly number[]): Promise<{ t0Us: number; accepted: number[] }> {
    const body = JSON.stringify([{ ...alert, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString() }]);
    const t0Us = nowUs();
    return { t0Us, accepted: await this.#post(body, only) };
  }

  /** Resolves the alert on every reachable Alertmanager, so that it can never notify again. */
  async resolve(alert: Alert): Promise<void> {
    const now = new Date().toISOString();
    await this.#post(JSON.stringify([{ ...alert, startsAt: now, endsAt: now }]));
  }

  /** Every trip alert either Alertmanager holds, resolved (whoever fired it: a test, ess_fleet.sh). */
  async resolveAllTrips(): Promise<number> {
    const seen = new Map<string, Alert>();
    for (const url of this.alertmanagers) {
      const response = await fetch(`${url}/api/v2/alerts?${new URLSearchParams({ filter: 'ess_trip="true"' }).toString()}`, {
        signal: AbortSignal.timeout(5000),
      }).catch(() => null);
      if (response?.ok !== true) continue;
      for (const alert of (await response.json()) as { labels: Record<string, string> }[]) {
        seen.set(JSON.stringify(Object.entries(alert.labels).sort()), { labels: alert.labels });
      }
    }
    for (const alert of seen.values()) await this.resolve(alert);
    return seen.size;
  }

  async #post(body: string, only?: readonly number[]): Promise<number[]> {
    const targets = this.alertmanagers.map((url, i) => ({ url, i })).filter(({ i }) => only === undefined || only.includes(i));
    const results = await Promise.all(
      targets.map(async ({ url, i }) => {
        try {
          const response = await fetch(`${url}/api/v2/alerts`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body,
            signal: AbortSignal.timeout(5000),
          });
          return response.ok ? i : -1;
        } catch {
          return -1;
        }
      }),
    );
    return results.filter((i) => i >= 0);
  }

  /** Cuts or restores a host's link: the bridge side of its veth pair. */
  async link(host: string, state: 'down' | 'up'): Promise<void> {
    await execa('bash', [fleetScript, 'link', host, state]);
  }

  /** Splits the two Alertmanagers from each other (no gossip), both still reaching every host. */
  async partitionAlertmanagers(state: 'on' | 'off'): Promise<void> {
    await execa('bash', [fleetScript, 'partition', state]);
  }

  /** index from 0 */
  async killAlertmanager(index: number): Promise<void> {
    await execa('bash', [fleetScript, 'alertmanager', String(index + 1), 'kill']);
  }

  /** Starts it again and waits until it has rejoined the cluster. */
  async startAlertmanager(index: number): Promise<void> {
    await execa('bash', [fleetScript, 'alertmanager', String(index + 1), 'start']);
    await waitUntil('the cluster to have 2 peers again', async () => (await this.clusterPeers(index)) === 2, 60_000, 200);
  }

  async alertmanagerStatus(index: number): Promise<{ cluster: { name: string; status: string; peers: { name: string; address: string }[] } }> {
    const response = await fetch(`${this.alertmanagers[index]}/api/v2/status`, { signal: AbortSignal.timeout(5000) });
    return (await response.json()) as { cluster: { name: string; status: string; peers: { name: string; address: string }[] } };
  }

  async clusterPeers(index: number): Promise<number> {
    const status = await this.alertmanagerStatus(index).catch(() => null);
    return status?.cluster.status === 'ready' ? status.cluster.peers.length : 0;
  }

  /**
   * The index of the Alertmanager that notifies first: the cluster orders its peers by name, and the
   * one at position n waits n x --cluster.peer-timeout before it sends what its peers have not.
   */
  async firstNotifier(): Promise<number> {
    const names = await Promise.all(this.alertmanagers.map(async (_, i) => (await this.alertmanagerStatus(i)).cluster.name));
    const first = [...names].sort()[0];
    return names.indexOf(first ?? '');
  }

  async promQuery(expr: string): Promise<{ status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }> {
    const url = `${this.description.prometheus}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  }

  /** Every host deactivated by its own controller and trading again, in parallel. */
  async deactivateAll(reason: string): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.deactivate(reason)));
  }

  /** Waits until every given host has stopped trading; resolves to the µs the last of them stopped. */
  async waitStopped(hosts: readonly FleetHost[], timeoutMs: number): Promise<number> {
    const what = `${hosts.map((h) => h.name).join(',')} to stop trading`;
    await waitUntil(what, async () => (await Promise.all(hosts.map((h) => h.tradingEmpty()))).every(Boolean), timeoutMs, 10);
    await waitUntil(what, async () => (await Promise.all(hosts.map((h) => h.tradingStopped()))).every(Boolean), timeoutMs, 20);
    return Math.max(...(await Promise.all(hosts.map((h) => h.lastStopUs()))));
  }
}
