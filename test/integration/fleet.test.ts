// The fleet on real systemd (sandbox/fleet.sh): N hosts, each its own systemd in its own network
// namespace on one bridge, with the ESS and its exporter installed by deploy/install.sh and serving
// HTTPS with a bearer token; one Prometheus; two Alertmanagers clustered by gossip, running
// alerting/alertmanager.fleet.example.yml with one webhook per host. Alerts are posted to both
// Alertmanagers, as Prometheus posts them. The fleet boots once for the file; after each test every
// trip alert is resolved (none can notify again) and every host is deactivated by its own controller,
// as the human at each host does.
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUERIES, toRunnableQuery } from '../../dashboards/src/queries.js';
import { type Alert, Fleet, type FleetHost, nowUs, sleep, waitUntil } from '../../sandbox/fleet.js';
import { MONITOR } from '../../sandbox/sandbox.js';

const HOSTS = 4;
const SRC = new URL('../..', import.meta.url).pathname;
// the second Alertmanager of the pair sends what the first has not after --cluster.peer-timeout
const PEER_TIMEOUT_MS = 15_000;
let fleet: Fleet;
let testRun = 0;

/**
 * A trip alert with labels of its own: a new fingerprint, never grouped with an earlier test's. Without a
 * scope label it trips every host, recorded as `unscoped` (no scope given).
 */
function tripAlert(name: string, scope: Record<string, string> = {}): Alert {
  testRun += 1;
  return { labels: { alertname: name, ess_trip: 'true', severity: 'critical', fleet_test_run: `${Date.now()}-${testRun}`, ...scope } };
}

/** The sum of the series of one metric in a scrape that carry every given label. */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .filter((l) => wanted.every((w) => l.includes(w)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

interface HostBook {
  readonly activations: number;
  readonly activationsMetric: number;
  readonly auditLines: number;
  readonly deduplicated: number;
  readonly decisions: number;
  readonly scrape: string;
}

async function book(host: FleetHost): Promise<HostBook> {
  const scrape = await host.scrape();
  return {
    activations: await host.activations(),
    activationsMetric: metricSum(scrape, 'ess_activations_total'),
    auditLines: (await host.audit()).length,
    deduplicated: metricSum(scrape, 'ess_webhook_deduplicated_total'),
    decisions: metricSum(scrape, 'ess_webhook_scope_decisions_total'),
    scrape,
  };
}

async function books(): Promise<Map<string, HostBook>> {
  return new Map(await Promise.all(fleet.hosts.map(async (h) => [h.name, await book(h)] as const)));
}

const bookOf = (before: Map<string, HostBook>, host: FleetHost): HostBook => before.get(host.name) as HostBook;

interface Since {
  readonly activations: number;
  readonly metric: number;
  readonly auditActivations: number;
  readonly deduplicated: number;
  readonly decisions: number;
  readonly scopes: unknown[];
}

/** What a host recorded since `before`: activations (counter, metric, audit lines), deduplications, scope decisions. */
async function since(host: FleetHost, before: HostBook): Promise<Since> {
  const after = await book(host);
  const activations = (await host.audit()).slice(before.auditLines).filter((e) => e.event === 'activate');
  return {
    activations: after.activations - before.activations,
    metric: after.activationsMetric - before.activationsMetric,
    auditActivations: activations.length,
    deduplicated: after.deduplicated - before.deduplicated,
    decisions: after.decisions - before.decisions,
    scopes: activations.map((e) => e.scope),
  };
}

/** Until every host has decided on the alert (its scope decision counted, trip or not). */
async function waitDecided(hosts: readonly FleetHost[], before: Map<string, HostBook>): Promise<void> {
  await waitUntil(
    'every host to decide on the alert',
    async () => (await Promise.all(hosts.map(async (h) => (await since(h, bookOf(before, h))).decisions >= 1))).every(Boolean),
    30_000,
    200,
  );
}

/** Each host tripped exactly once, in this scope: one activation (counter, metric and audit trail). */
async function expectTrippedOnce(hosts: readonly FleetHost[], before: Map<string, HostBook>, alertname: string, scope: string): Promise<void> {
  for (const host of hosts) {
    await waitUntil(`${host.name}: the activation recorded`, async () => (await host.state().catch(() => null))?.active === true, 10_000);
    const state = await host.state();
    expect(state.last_activation, host.name).toMatchObject({ source: 'alertmanager', scope });
    expect(state.last_activation?.reason, host.name).toContain(alertname);
    const { activations, metric, auditActivations, scopes } = await since(host, bookOf(before, host));
    expect({ host: host.name, activations, metric, auditActivations, scopes }).toEqual({
      host: host.name,
      activations: 1,
      metric: 1,
      auditActivations: 1,
      scopes: [scope],
    });
    const monitors = await host.box.activeStates(MONITOR);
    for (const unit of MONITOR) expect(monitors[unit], `${host.name} ${unit}`).toBe('active');
  }
}

async function expectUntouched(hosts: readonly FleetHost[], before: Map<string, HostBook>): Promise<void> {
  for (const host of hosts) {
    expect(await host.tradingRunning(), `${host.name} still trading`).toBe(true);
    expect(await host.latched(), `${host.name} not latched`).toBe(false);
    expect((await since(host, bookOf(before, host))).activations, host.name).toBe(0);
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
  for (const host of fleet.hosts) await fleet.link(host.name, 'up');
  await fleet.partitionAlertmanagers('off');
  for (const [i] of fleet.alertmanagers.entries()) {
    if ((await fleet.clusterPeers(i)) === 0) await fleet.startAlertmanager(i);
  }
  await fleet.resolveAllTrips();
  await fleet.deactivateAll('fleet test: incident closed on this host');
  await waitUntil('both Alertmanagers to see 2 peers', async () => (await fleet.clusterPeers(0)) === 2 && (await fleet.clusterPeers(1)) === 2, 60_000, 250);
}, 120_000);

describe(`a fleet of ${HOSTS} hosts behind two Alertmanagers clustered by gossip`, () => {
  it('is one cluster of two Alertmanagers, and Prometheus scrapes every host over HTTPS with its identity', async () => {
    for (const [i] of fleet.alertmanagers.entries()) {
      const status = await fleet.alertmanagerStatus(i);
      expect(status.cluster.status).toBe('ready');
      expect(status.cluster.peers).toHaveLength(2);
    }
    const up = await fleet.promQuery('up{job="quantum-ess"}');
    expect(up.data.result.map((r) => r.value[1])).toEqual(fleet.hosts.map(() => '1'));
    const identity = await fleet.promQuery('ess_identity_info{job="quantum-ess"}');
    const seen = identity.data.result.map((r) => `${r.metric.instance} ${r.metric.host} ${r.metric.groups}`).sort();
    expect(seen).toEqual(fleet.hosts.map((h) => `${h.ip}:10170 ${h.name} ${h.groups.join(',')}`).sort());
    for (const host of fleet.hosts) expect(await host.tradingRunning(), host.name).toBe(true);
  });

  // first of the trips: the rule leaves out a host that activated in the last 10 minutes
  it('raises ESSFleetPartialLatch for a host a fleet trip missed', async () => {
    const missed = fleet.hosts[fleet.hosts.length - 1] as FleetHost;
    const reached = fleet.hosts.filter((h) => h !== missed);
    // a receiver list without the last host: the others get the fleet trip, it does not
    const fp = `missed${Date.now()}`;
    const body = JSON.stringify({
      version: '4', groupKey: fp, truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess-fleet', groupLabels: {},
      commonLabels: {}, commonAnnotations: {}, externalURL: 'http://test',
      alerts: [{ status: 'firing', labels: { alertname: 'FleetTripMissedHost', ess_trip: 'true', ess_scope: 'fleet' }, annotations: {},
        startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://test', fingerprint: fp }],
    });
    for (const host of reached) expect((await host.postWebhook(body, fleet.token)).status).toBe(200);
    await fleet.waitStopped(reached, 30_000);
    await waitUntil('ESSFleetPartialLatch for the missed host', async () => {
      const alerts = await fetch(`${fleet.description.prometheus}/api/v1/alerts`).then(async (r) => (await r.json()) as { data: { alerts: { labels: Record<string, string> }[] } });
      return alerts.data.alerts.some((a) => a.labels.alertname === 'ESSFleetPartialLatch' && a.labels.instance === `${missed.ip}:10170` && a.labels.host === missed.name);
    }, 20_000, 250);
    expect(await missed.tradingRunning()).toBe(true);
  }, 60_000);

  it('stops every host on one fleet alert, once per host although both Alertmanagers have it', async () => {
    const before = await books();
    const alert = tripAlert('FleetTripAll', { ess_scope: 'fleet' });
    const { t0Us, accepted } = await fleet.fire(alert);
    expect(accepted).toEqual([0, 1]);
    const stoppedUs = await fleet.waitStopped(fleet.hosts, 30_000);
    baselineTripUs = stoppedUs - t0Us;
    console.log(`fleet alert -> all ${HOSTS} hosts stopped: ${ms(baselineTripUs)}`);
    await sleep(PEER_TIMEOUT_MS + 1000); // the second member's turn: it must not trip anything again
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripAll', 'fleet');
    for (const host of fleet.hosts) {
      const scrape = await host.scrape();
      const trips = metricSum(scrape, 'ess_webhook_scope_decisions_total', { scope: 'fleet', decision: 'trip' });
      expect(trips - metricSum(bookOf(before, host).scrape, 'ess_webhook_scope_decisions_total', { scope: 'fleet', decision: 'trip' })).toBe(1);
    }
  }, 120_000);

  it('stops only the host an ess_host alert names', async () => {
    const before = await books();
    const target = fleet.host('h2');
    await fleet.fire(tripAlert('FleetTripHost', { ess_host: 'h2' }));
    await fleet.waitStopped([target], 30_000);
    await waitDecided(fleet.hosts, before);
    await expectTrippedOnce([target], before, 'FleetTripHost', 'host:h2');
    const others = fleet.hosts.filter((h) => h !== target);
    await expectUntouched(others, before);
    for (const host of others) {
      const scrape = await host.scrape();
      expect(metricSum(scrape, 'ess_webhook_scope_decisions_total', { scope: 'host', decision: 'other_target' }), host.name).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);

  it('stops only the hosts of the group an ess_group alert names; with ess_host too, both must match', async () => {
    const before = await books();
    const group = fleet.hosts.filter((h) => h.groups.includes('ai'));
    expect(group.length).toBeGreaterThan(0);
    await fleet.fire(tripAlert('FleetTripGroup', { ess_group: 'ai' }));
    await fleet.waitStopped(group, 30_000);
    await waitDecided(fleet.hosts, before);
    await expectTrippedOnce(group, before, 'FleetTripGroup', 'group:ai');
    await expectUntouched(fleet.hosts.filter((h) => !group.includes(h)), before);

    // h1 is in exec and canary: (h1, canary) is h1; (h2, canary) is nobody
    const second = await books();
    await fleet.fire(tripAlert('FleetTripHostAndGroup', { ess_host: 'h2', ess_group: 'canary' }));
    await fleet.fire(tripAlert('FleetTripHostAndGroup', { ess_host: 'h1', ess_group: 'canary' }));
    await fleet.waitStopped([fleet.host('h1')], 30_000);
    await waitUntil('h2 to decide on both alerts', async () => (await since(fleet.host('h2'), bookOf(second, fleet.host('h2')))).decisions >= 2, 30_000, 200);
    await expectTrippedOnce([fleet.host('h1')], second, 'FleetTripHostAndGroup', 'host:h1');
    await expectUntouched([fleet.host('h2')], second);
  }, 90_000);

  it('trips nobody on an invalid ess_scope, and every host counts it invalid', async () => {
    const before = await books();
    await fleet.fire(tripAlert('FleetTripInvalidScope', { ess_scope: 'everywhere' }));
    await waitDecided(fleet.hosts, before);
    await expectUntouched(fleet.hosts, before);
    for (const host of fleet.hosts) {
      const scrape = await host.scrape();
      const invalid = metricSum(scrape, 'ess_webhook_scope_decisions_total', { scope: 'invalid', decision: 'invalid' });
      expect(invalid - metricSum(bookOf(before, host).scrape, 'ess_webhook_scope_decisions_total', { scope: 'invalid', decision: 'invalid' }), host.name).toBe(1);
    }
  }, 60_000);

  it('refuses a wrong token and a plain-HTTP sender; a token over plain HTTP off loopback is a config error', async () => {
    const before = await books();
    const host = fleet.host('h1');
    const body = JSON.stringify({
      version: '4', groupKey: 'refused', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess-fleet', groupLabels: {},
      commonLabels: {}, commonAnnotations: {}, externalURL: 'http://test',
      alerts: [{ status: 'firing', labels: { alertname: 'FleetRefused', ess_trip: 'true' }, annotations: {}, startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://test', fingerprint: `refused${Date.now()}` }],
    });
    const wrong = await host.postWebhook(body, 'not-the-token');
    expect(wrong.status).toBe(401);
    // plain HTTP to the HTTPS listener, with the right token: no answer over HTTP at all
    const plain = await fetch(`http://${host.ip}:10170/alertmanager`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${fleet.token}` }, body, signal: AbortSignal.timeout(5000),
    }).then((r) => r.status, (error: unknown) => `refused (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : String(error)})`);
    expect(plain).not.toBe(200);
    await sleep(1000);
    await expectUntouched([host], before);
    // the same listener without TLS, without allow_plain_http_token: the exporter refuses to start
    const check = await host.box.sh(
      ': > /run/plain-web-config.yml && node /usr/local/lib/quantum-ess-exporter/dist/src/main.js ' +
        '--config.file /etc/quantum/ess-exporter.json --web.config.file /run/plain-web-config.yml --check-config',
    );
    expect(check.exitCode).toBe(78);
    expect(check.stderr).toMatch(/tls_cert_file.*allow_plain_http_token/s);
  }, 60_000);

  it('delivers through the surviving Alertmanager when the one that notifies first was killed', async () => {
    const before = await books();
    const first = await fleet.firstNotifier();
    await fleet.killAlertmanager(first);
    const { t0Us, accepted } = await fleet.fire(tripAlert('FleetTripOneAlertmanagerDown'));
    expect(accepted).toEqual([1 - first]);
    const stoppedUs = await fleet.waitStopped(fleet.hosts, 60_000);
    console.log(
      `one Alertmanager killed just before the alert: all ${HOSTS} hosts stopped after ${ms(stoppedUs - t0Us)} ` +
        `(extra delay ${ms(stoppedUs - t0Us - baselineTripUs)} over the fleet trip with both up)`,
    );
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripOneAlertmanagerDown', 'unscoped');
  }, 120_000);

  it('trips a host whose link was down during the alert once the link is back, through the retries, once', async () => {
    const before = await books();
    const cut = fleet.hosts[fleet.hosts.length - 1] as FleetHost;
    const others = fleet.hosts.filter((h) => h !== cut);
    await fleet.link(cut.name, 'down');
    await fleet.fire(tripAlert('FleetTripLinkDown'));
    await fleet.waitStopped(others, 30_000);
    // Prometheus sees the host gone while the others are latched: the fleet rule's condition holds
    await waitUntil('ESSHostUnreachableDuringTrip for the cut host', async () => {
      const alerts = await fetch(`${fleet.description.prometheus}/api/v1/alerts`).then(async (r) => (await r.json()) as { data: { alerts: { labels: Record<string, string> }[] } });
      return alerts.data.alerts.some((a) => a.labels.alertname === 'ESSHostUnreachableDuringTrip' && a.labels.instance === `${cut.ip}:10170`);
    }, 20_000, 250);
    expect(await cut.tradingRunning(), `${cut.name} cut off: not reached yet`).toBe(true);
    const healedUs = nowUs();
    await fleet.link(cut.name, 'up');
    const stoppedUs = await fleet.waitStopped([cut], 60_000);
    console.log(`link restored -> ${cut.name} stopped by a retry: ${ms(stoppedUs - healedUs)}`);
    // both Alertmanagers may have had a delivery pending for it: wait them out, then count
    await sleep(PEER_TIMEOUT_MS + 1000);
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripLinkDown', 'unscoped');
  }, 120_000);

  it('trips once per host when both Alertmanagers deliver (split, no gossip): the second copy is a duplicate', async () => {
    await fleet.partitionAlertmanagers('on');
    await waitUntil('each Alertmanager to see itself alone', async () => (await fleet.clusterPeers(0)) === 1 && (await fleet.clusterPeers(1)) === 1, 60_000, 250);
    const before = await books();
    await fleet.fire(tripAlert('FleetTripDuplicated'));
    await fleet.waitStopped(fleet.hosts, 30_000);
    await waitUntil(
      'every host to receive the second copy',
      async () => (await Promise.all(fleet.hosts.map(async (h) => (await since(h, bookOf(before, h))).deduplicated))).every((d) => d >= 1),
      30_000,
      250,
    );
    // one copy from each Alertmanager, or more: Alertmanager sends again a delivery whose answer came
    // late (a loaded host); every copy after the first is a duplicate, and the host trips once
    for (const host of fleet.hosts) expect((await since(host, bookOf(before, host))).deduplicated, host.name).toBeGreaterThanOrEqual(1);
    await expectTrippedOnce(fleet.hosts, before, 'FleetTripDuplicated', 'unscoped');
  }, 120_000);

  it('latches every host with ess_fleet.sh trip; status reads every host from Prometheus; the fleet row has data', async () => {
    const status = (): Promise<{ exitCode?: number; stdout: string }> =>
      execa('bash', [`${SRC}fleet/ess_fleet.sh`, 'status', '--prometheus', fleet.description.prometheus, '--expect-latched', '--json'], { reject: false });
    // Prometheus sees the last test's deactivations within a scrape or two
    await waitUntil('Prometheus to see no host latched', async () => (JSON.parse((await status()).stdout) as { latched: number }).latched === 0, 20_000, 500);
    const idle = await status();
    expect(idle.exitCode).toBe(1);
    expect(JSON.parse(idle.stdout)).toMatchObject({ latched: 0, total: HOSTS });

    const before = await books();
    const am = fleet.alertmanagers.flatMap((url) => ['--alertmanager', url]);
    const trip = await execa('bash', [`${SRC}fleet/ess_fleet.sh`, 'trip', '--reason', 'fleet test: manual stop', ...am], { reject: false });
    expect(trip.exitCode, trip.stderr).toBe(0);
    expect(trip.stdout).toContain(`accepted by 2 of 2`);
    await fleet.waitStopped(fleet.hosts, 30_000);
    await expectTrippedOnce(fleet.hosts, before, 'ESSManualFleetStop', 'fleet');

    await waitUntil('Prometheus to see every host latched', async () => (await status()).exitCode === 0, 20_000, 500);
    const latched = JSON.parse((await status()).stdout) as { latched: number; total: number; not_latched: unknown[]; unreachable: unknown[] };
    expect(latched).toMatchObject({ latched: HOSTS, total: HOSTS, not_latched: [], unreachable: [] });

    await sleep(3000); // a few scrapes after the trip for the increase() windows
    const value = async (name: keyof typeof QUERIES): Promise<{ metric: Record<string, string>; value: number }[]> => {
      const r = await fleet.promQuery(toRunnableQuery(QUERIES[name], { rateInterval: '1m' }));
      expect(r.status, `${name}: ${r.error ?? ''}`).toBe('success');
      expect(r.data.result.length, `no data for ${name}`).toBeGreaterThan(0);
      return r.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    };
    const fleetQueries = (Object.keys(QUERIES) as (keyof typeof QUERIES)[]).filter((name) => /^(fleet|host|scope)/.test(name));
    expect(fleetQueries.length).toBeGreaterThanOrEqual(8);
    for (const name of fleetQueries) await value(name);
    expect((await value('fleetLatched'))[0]?.value).toBe(HOSTS);
    expect((await value('fleetHosts'))[0]?.value).toBe(HOSTS);
    expect((await value('fleetUnreachable'))[0]?.value).toBe(0);
    expect((await value('fleetIdentity')).map((s) => s.metric.host).sort()).toEqual(fleet.hosts.map((h) => h.name).sort());
    for (const s of await value('fleetActive')) expect(s.value).toBe(1);
    for (const s of await value('hostLatency')) {
      expect(fleet.hosts.map((h) => h.name)).toContain(s.metric.host);
      expect(s.value).toBeGreaterThan(0);
      expect(s.value).toBeLessThan(5);
    }
    const decisions = await value('scopeDecisions');
    expect(decisions.some((s) => s.metric.scope === 'fleet' && s.metric.decision === 'trip' && s.value > 0)).toBe(true);
    // every fleet rule loaded into the real Prometheus and evaluated without error
    const rules = (await fetch(`${fleet.description.prometheus}/api/v1/rules`).then((r) => r.json())) as {
      data: { groups: { name: string; rules: { name: string; health: string; lastError?: string; query: string }[] }[] };
    };
    const fleetRules = rules.data.groups.filter((g) => g.name === 'ess-fleet').flatMap((g) => g.rules);
    expect(fleetRules.map((r) => r.name)).toEqual(expect.arrayContaining(['ESSFleetPartialLatch', 'ESSHostUnreachableDuringTrip', 'ESSFleetHostMissing']));
    for (const rule of fleetRules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
      expect((await fleet.promQuery(rule.query)).status, rule.name).toBe('success');
    }
  }, 120_000);

  it('leaves every host trading after the resets: no alert of an earlier test notifies again', async () => {
    const before = await books();
    await sleep(12_000); // longer than the trip route's group_interval (10 s): a firing alert would be re-sent
    await expectUntouched(fleet.hosts, before);
  }, 60_000);
});
