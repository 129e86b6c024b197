// Fleet trips on real systemd (sandbox/fleet.sh, needs root): a trip alert POSTed to both
// Alertmanagers' API (as Prometheus posts it) -> every host's trading units stopped.
//   t0:  the wall clock just before the POSTs leave
//   end: the latest of systemd's own InactiveEnterTimestamp (realtime µs) of any trading unit on any
//        host; the containers share one kernel, so their clock is the one t0 was read from
// Interleaved with each fleet trip, its reference: the same trip POSTed straight to every host's
// webhook at once (what Alertmanager adds is the difference). Then with one Alertmanager down (the
// one that notifies first: once the cluster has seen it gone, and just after it died), with the two
// split (no gossip, both deliver), and with one host's link cut during the alert (the figure is from
// the link coming back to that host stopped).
// Between trips every host is deactivated by its own controller; every alert is unique and resolved.
//   npx tsx bench/fleet.bench.ts [--hosts 4,8] [--trips 20] [--killed-trips 3]
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type Alert, Fleet, type FleetHost, nowUs, sleep, waitUntil } from '../sandbox/fleet.js';
import { type BenchRow, report, verdict } from './report.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '4,8' },
    trips: { type: 'string', default: '20' },
    'killed-trips': { type: 'string', default: '3' },
  },
});
const sizes = values.hosts.split(',').map(Number);
const trips = Number(values.trips);
const killedTrips = Number(values['killed-trips']);
const HOLD_MS = 2000; // how long a host stays cut off while the alert fires

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
}
function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN, n: sorted.length };
}
const fmt = (s: Stats): string => `${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} / ${s.max.toFixed(0)} (${s.n} trips)`;

let run = 0;
function alert(kind: string): Alert {
  run += 1;
  return { labels: { alertname: `FleetBench${kind}`, ess_trip: 'true', bench_run: `${Date.now()}-${run}` } };
}

/** An Alertmanager webhook notification for one new alert, as Alertmanager would send it. */
function notification(): string {
  const fp = randomUUID().replaceAll('-', '').slice(0, 16);
  const labels = { alertname: 'FleetBenchDirect', ess_trip: 'true' };
  return JSON.stringify({
    version: '4', groupKey: `bench-${fp}`, truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess-fleet',
    groupLabels: {}, commonLabels: labels, commonAnnotations: {}, externalURL: 'http://bench',
    alerts: [{ status: 'firing', labels, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://bench', fingerprint: fp }],
  });
}

/** One fleet trip through the Alertmanagers: ms from the POSTs to the last host stopped. */
async function tripThroughAlertmanagers(fleet: Fleet, kind: string, hosts = fleet.hosts): Promise<number> {
  const a = alert(kind);
  const { t0Us } = await fleet.fire(a);
  const endUs = await fleet.waitStopped(hosts, 60_000);
  await fleet.resolve(a);
  return (endUs - t0Us) / 1000;
}

/** The reference: the same trip POSTed straight to every host's webhook at once. */
async function tripDirect(fleet: Fleet): Promise<number> {
  const body = notification();
  const t0Us = nowUs();
  await Promise.all(
    fleet.hosts.map(async (h) => {
      const answer = await h.postWebhook(body, fleet.token);
      if (answer.status !== 200) throw new Error(`${h.name}: webhook answered ${answer.status}`);
    }),
  );
  const endUs = await fleet.waitStopped(fleet.hosts, 30_000);
  return (endUs - t0Us) / 1000;
}

async function reset(fleet: Fleet): Promise<void> {
  await fleet.deactivateAll('fleet bench: next trip');
}

/** RSS of the fleet: every process of each host container, and the three monitoring processes. */
async function memoryMiB(fleet: Fleet): Promise<{ perHost: number; monitoring: number }> {
  const perHost = Math.max(...(await Promise.all(fleet.hosts.map((h) => h.rssMiB()))));
  let kib = 0;
  for (const name of ['prom', 'am1', 'am2']) {
    const pid = (await readFile(`${fleet.description.state_dir}/${name}.pid`, 'utf8').catch(() => '')).trim();
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return { perHost, monitoring: kib / 1024 };
}

async function benchSize(n: number): Promise<BenchRow[]> {
  const fleet = await Fleet.up(n);
  const rows: BenchRow[] = [];
  try {
    const viaAm: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < trips; i++) {
      viaAm.push(await tripThroughAlertmanagers(fleet, 'Fleet'));
      await reset(fleet);
      direct.push(await tripDirect(fleet));
      await reset(fleet);
    }
    const mem = await memoryMiB(fleet);
    const s = stats(viaAm);
    rows.push({
      figure: `N=${n}: alert POSTed to both Alertmanagers -> all ${n} hosts stopped, p50 / p99 / max ms`,
      ess: fmt(s),
      reference: `POSTed straight to every webhook: ${fmt(stats(direct))}`,
      goal: 'p99 <= 1000 ms',
      result: verdict(s.p99 <= 1000),
    });
    rows.push(...(await oneAlertmanagerDown(fleet)));
    rows.push(await alertmanagersSplit(fleet));
    rows.push(await partitionHeals(fleet));
    rows.push({
      figure: `N=${n}: memory, MiB`,
      ess: `${mem.perHost.toFixed(0)} per host container (RSS of its processes, largest), ${mem.monitoring.toFixed(0)} Prometheus + 2 Alertmanagers (RSS)`,
      reference: '',
      goal: '',
      result: '',
    });
  } finally {
    await fleet.down();
  }
  return rows;
}

async function oneAlertmanagerDown(fleet: Fleet): Promise<BenchRow[]> {
  const n = fleet.hosts.length;
  const justKilled: number[] = [];
  for (let i = 0; i < killedTrips; i++) {
    const first = await fleet.firstNotifier();
    await fleet.killAlertmanager(first);
    justKilled.push(await tripThroughAlertmanagers(fleet, 'JustKilled'));
    await reset(fleet);
    await fleet.startAlertmanager(first);
  }
  const first = await fleet.firstNotifier();
  await fleet.killAlertmanager(first);
  await waitUntil('the survivor to see itself alone', async () => (await fleet.clusterPeers(1 - first)) === 1, 60_000, 250);
  const down: number[] = [];
  for (let i = 0; i < trips; i++) {
    down.push(await tripThroughAlertmanagers(fleet, 'OneDown'));
    await reset(fleet);
  }
  await fleet.startAlertmanager(first);
  const d = stats(down);
  const k = stats(justKilled);
  return [
    {
      figure: `N=${n}: the same, the first-notifying Alertmanager down (seen gone by its peer), ms`,
      ess: fmt(d),
      reference: '',
      goal: 'p99 <= 1000 ms',
      result: verdict(d.p99 <= 1000),
    },
    {
      figure: `N=${n}: the same, that Alertmanager killed just before the alert, ms`,
      ess: fmt(k),
      reference: 'its peer waits --cluster.peer-timeout (15 s) before sending what it has not seen sent',
      goal: '<= 16000 ms',
      result: verdict(k.max <= 16_000),
    },
  ];
}

/** Both Alertmanagers deliver (no gossip between them): every host gets each trip twice. */
async function alertmanagersSplit(fleet: Fleet): Promise<BenchRow> {
  const n = fleet.hosts.length;
  await fleet.partitionAlertmanagers('on');
  await waitUntil('each Alertmanager to see itself alone', async () => (await fleet.clusterPeers(0)) === 1 && (await fleet.clusterPeers(1)) === 1, 60_000, 250);
  const split: number[] = [];
  for (let i = 0; i < trips; i++) {
    split.push(await tripThroughAlertmanagers(fleet, 'Split'));
    await reset(fleet);
  }
  await fleet.partitionAlertmanagers('off');
  await waitUntil('the cluster to re-form', async () => (await fleet.clusterPeers(0)) === 2 && (await fleet.clusterPeers(1)) === 2, 120_000, 250);
  const s = stats(split);
  return {
    figure: `N=${n}: the same, the Alertmanagers split (no gossip: both deliver, the hosts drop the copy), ms`,
    ess: fmt(s),
    reference: '',
    goal: 'p99 <= 1000 ms',
    result: verdict(s.p99 <= 1000),
  };
}

async function partitionHeals(fleet: Fleet): Promise<BenchRow> {
  const n = fleet.hosts.length;
  const cut = fleet.hosts[n - 1] as FleetHost;
  const others = fleet.hosts.filter((h) => h !== cut);
  const healToStopped: number[] = [];
  for (let i = 0; i < trips; i++) {
    await fleet.link(cut.name, 'down');
    const a = alert('Partition');
    await fleet.fire(a);
    await fleet.waitStopped(others, 30_000);
    await sleep(HOLD_MS);
    const healedUs = nowUs();
    await fleet.link(cut.name, 'up');
    const endUs = await fleet.waitStopped([cut], 60_000);
    healToStopped.push((endUs - healedUs) / 1000);
    await fleet.resolve(a);
    await reset(fleet);
  }
  const s = stats(healToStopped);
  return {
    figure: `N=${n}: a host's link cut during the alert (${HOLD_MS / 1000} s), link back -> that host stopped, ms`,
    ess: fmt(s),
    reference: 'delivered by Alertmanager\'s retries (TCP retransmits and its backoff)',
    goal: '<= 10000 ms (group_interval)',
    result: verdict(s.max <= 10_000),
  };
}

const rows: BenchRow[] = [];
for (const n of sizes) rows.push(...(await benchSize(n)));
report(`Fleet trips: alert -> every host stopped (systemd's timestamps), ${sizes.join(' and ')} hosts, 2 Alertmanagers`, rows);
