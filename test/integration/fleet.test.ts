// The fleet on real systemd (sandbox/fleet.sh): N hosts, each its own systemd in its own network
// namespace on one bridge, with the ESS and its exporter installed by deploy/install.sh; one
// Prometheus; two Alertmanagers clustered by gossip, notifying every host's webhook. Alerts are posted
// to both Alertmanagers, as Prometheus posts them. The fleet boots once for the file; after each test
// every host is deactivated by its own controller (as the human at each host does) and the test's
// alerts are resolved, so that none of them can notify again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, Fleet, type FleetHost, nowUs, sleep, waitUntil } from '../../sandbox/fleet.js';
import { MONITOR } from '../../sandbox/sandbox.js';

const HOSTS = 4;
let fleet: Fleet;
let fired: Alert[] = [];
let testRun = 0;

/** A trip alert with labels of its own: a new fingerprint, never grouped with an earlier test's. */
function tripAlert(name: string, scope: Record<string, string> = {}): Alert {
  testRun += 1;
  const alert = { labels: { alertname: name, ess_trip: 'true', severity: 'critical', fleet_test_run: `${Date.now()}-${testRun}`, ...scope } };
  fired.push(alert);
  return alert;
}

/** The sum of every series of one metric in a scrape. */
function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

interface HostBook {
  readonly activations: number;
  readonly activationsMetric: number;
  readonly auditLines: number;
  readonly deduplicated: number;
}

async function book(host: FleetHost): Promise<HostBook> {
  const scrape = await host.scrape();
  return {
    activations: await host.activations(),
    activationsMetric: metricSum(scrape, 'ess_activations_total'),
    auditLines: (await host.audit()).length,
    deduplicated: metricSum(scrape, 'ess_webhook_deduplicated_total'),
  };
}

async function books(): Promise<Map<string, HostBook>> {
  return new Map(await Promise.all(fleet.hosts.map(async (h) => [h.name, await book(h)] as const)));
}

/** What a host recorded since `before`: new activations (counter, metric, audit lines) and deduplications. */
async function since(host: FleetHost, before: HostBook): Promise<{ activations: number; metric: number; auditActivations: number; deduplicated: number }> {
  const after = await book(host);
  const newAudit = (await host.audit()).slice(before.auditLines);
  return {
    activations: after.activations - before.activations,
    metric: after.activationsMetric - before.activationsMetric,
    auditActivations: newAudit.filter((e) => e.event === 'activate').length,
    deduplicated: after.deduplicated - before.deduplicated,
  };
}

/** Each host tripped exactly once by this alert: one activation (counter, metric and audit trail). */
async function expectTrippedOnce(hosts: readonly FleetHost[], before: Map<string, HostBook>, alertname: string): Promise<void> {
  for (const host of hosts) {
    // the exporter reads state.json on scrape: wait until the activation is recorded
    await waitUntil(`${host.name}: the activation recorded`, async () => (await host.state().catch(() => null))?.active === true, 10_000);
    const state = await host.state();
    expect(state.last_activation?.source, host.name).toBe('alertmanager');
    expect(state.last_activation?.reason, host.name).toContain(alertname);
    const counts = await since(host, before.get(host.name) as HostBook);
    const { deduplicated: _, ...activations } = counts;
    expect({ host: host.name, ...activations }).toEqual({ host: host.name, activations: 1, metric: 1, auditActivations: 1 });
    const monitors = await host.box.activeStates(MONITOR);
    for (const unit of MONITOR) expect(monitors[unit], `${host.name} ${unit}`).toBe('active');
  }
}

async function expectUntouched(hosts: readonly FleetHost[], before: Map<string, HostBook>): Promise<void> {
  for (const host of hosts) {
    expect(await host.tradingRunning(), `${host.name} still trading`).toBe(true);
    expect(await host.latched(), `${host.name} not latched`).toBe(false);
    const counts = await since(host, before.get(host.name) as HostBook);
    expect(counts.activations, host.name).toBe(0);
  }
}

const ms = (us: number): string => `${(us / 1000).toFixed(0)} ms`;
let baselineTripUs = 0;

beforeAll(async () => {
  fleet = await Fleet.up(HOSTS);
}, 300_000);

afterAll(async () => {
  await fleet?.down();
}, 120_000);

afterEach(async () => {
  await fleet.link(fleet.hosts[fleet.hosts.length - 1]?.name ?? 'h1', 'up');
  await fleet.partitionAlertmanagers('off');
  for (const [i] of fleet.alertmanagers.entries()) {
    if ((await fleet.clusterPeers(i)) === 0) await fleet.startAlertmanager(i);
  }
  for (const alert of fired) await fleet.resolve(alert);
  fired = [];
  await fleet.deactivateAll('fleet test: incident closed on this host');
  await waitUntil('both Alertmanagers to see 2 peers', async () => (await fleet.clusterPeers(0)) === 2 && (await fleet.clusterPeers(1)) === 2, 60_000, 250);
}, 120_000);

describe(`a fleet of ${HOSTS} hosts behind two Alertmanagers clustered by gossip`, () => {
  it('is one cluster of two Alertmanagers, and Prometheus scrapes every host', async () => {
    for (const [i] of fleet.alertmanagers.entries()) {
      const status = await fleet.alertmanagerStatus(i);
      expect(status.cluster.status).toBe('ready');
      expect(status.cluster.peers).toHaveLength(2);
    }
    const up = await fleet.promQuery('up{job="quantum-ess"}');
    expect(up.data.result.map((r) => r.value[1])).toEqual(fleet.hosts.map(() => '1'));
    for (const host of fleet.hosts) expect(await host.tradingRunning(), host.name).toBe(true);
  });

  it('stops every host on one fleet alert, once per host although both Alertmanagers have it', async () => {
    const before = await books();
    const alert = tripAlert('FleetTripAll', { ess_scope: 'fleet' });
    const { t0Us, accepted } = await fleet.fire(alert);
    expect(accepted).toEqual([0, 1]);
    const stoppedUs = await fleet.waitStopped(fleet.hosts, 30_000);
    baselineTripUs = stoppedUs - t0Us;
    console.log(`fleet alert -> all ${HOSTS} hosts stopped: ${ms(baselineTripUs)}`);
    // the second Alertmanager sends what the first has not, after --cluster.peer-timeout (15 s)
    await sleep(16_000);
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripAll');
  }, 120_000);

  it('delivers through the surviving Alertmanager when the one that notifies first was killed', async () => {
    const before = await books();
    const first = await fleet.firstNotifier();
    await fleet.killAlertmanager(first);
    const alert = tripAlert('FleetTripOneAlertmanagerDown');
    const { t0Us, accepted } = await fleet.fire(alert);
    expect(accepted).toEqual([1 - first]);
    const stoppedUs = await fleet.waitStopped(fleet.hosts, 60_000);
    console.log(
      `one Alertmanager killed just before the alert: all ${HOSTS} hosts stopped after ${ms(stoppedUs - t0Us)} ` +
        `(extra delay ${ms(stoppedUs - t0Us - baselineTripUs)} over the fleet trip with both up)`,
    );
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripOneAlertmanagerDown');
  }, 120_000);

  it('trips a host whose link was down during the alert once the link is back, through the retries', async () => {
    const before = await books();
    const cut = fleet.hosts[fleet.hosts.length - 1] as FleetHost;
    const others = fleet.hosts.filter((h) => h !== cut);
    await fleet.link(cut.name, 'down');
    const alert = tripAlert('FleetTripLinkDown');
    await fleet.fire(alert);
    await fleet.waitStopped(others, 30_000);
    await sleep(3000);
    expect(await cut.tradingRunning(), `${cut.name} cut off: not reached yet`).toBe(true);
    const healedUs = nowUs();
    await fleet.link(cut.name, 'up');
    const stoppedUs = await fleet.waitStopped([cut], 60_000);
    console.log(`link restored -> ${cut.name} stopped by a retry: ${ms(stoppedUs - healedUs)}`);
    // both Alertmanagers may have a delivery pending for it: wait them out, then count
    await sleep(16_000);
    for (const host of fleet.hosts) {
      const counts = await since(host, before.get(host.name) as HostBook);
      expect({ host: host.name, activations: counts.activations, metric: counts.metric, audit: counts.auditActivations }).toEqual({
        host: host.name,
        activations: 1,
        metric: 1,
        audit: 1,
      });
    }
  }, 120_000);

  it('trips once per host when both Alertmanagers deliver (split, no gossip): the duplicates are dropped', async () => {
    await fleet.partitionAlertmanagers('on');
    await waitUntil('each Alertmanager to see itself alone', async () => (await fleet.clusterPeers(0)) === 1 && (await fleet.clusterPeers(1)) === 1, 60_000, 250);
    const before = await books();
    const alert = tripAlert('FleetTripDuplicated');
    await fleet.fire(alert);
    await fleet.waitStopped(fleet.hosts, 30_000);
    // both deliver: each host counts the second copy as a duplicate
    await waitUntil(
      'every host to have received the second copy',
      async () => (await Promise.all(fleet.hosts.map(async (h) => (await since(h, before.get(h.name) as HostBook)).deduplicated))).every((d) => d >= 1),
      30_000,
      250,
    );
    for (const host of fleet.hosts) {
      const counts = await since(host, before.get(host.name) as HostBook);
      expect({ host: host.name, ...counts }).toEqual({ host: host.name, activations: 1, metric: 1, auditActivations: 1, deduplicated: 1 });
    }
  }, 120_000);

  it('leaves every host trading after the reset: no alert of an earlier test notifies again', async () => {
    const before = await books();
    await sleep(12_000); // longer than group_interval: a still-firing alert would have been re-sent
    await expectUntouched(fleet.hosts, before);
  }, 60_000);
});
