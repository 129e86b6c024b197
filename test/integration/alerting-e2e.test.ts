// End to end with the real Debian binaries, all inside one systemd sandbox: Prometheus scrapes the
// exporter and a test target and evaluates alerting/ess.rules.yml plus a trip rule; Alertmanager, run
// with alerting/alertmanager.example.yml as shipped, posts the firing alert to the exporter's webhook
// with the installed bearer token; the latch is set and every trading unit stops. Then every PromQL
// query of the Grafana dashboard is run against that Prometheus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERIES, toRunnableQuery } from '../../dashboards/src/queries.js';
import { waitUntil } from '../../sandbox/fleet.js';
import { promAlerts, promQuery, SRC, startAlertmanager, startPrometheus } from '../../sandbox/monitoring.js';
import { FLAG, MONITOR, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const OPT_IN_SERIES = /\bess_(action_|watchdog_)/;
let box: Sandbox;

const PROMETHEUS_YML = `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${SRC}/alerting/ess.rules.yml
  - /run/e2e/trip.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:9093']
scrape_configs:
  - job_name: quantum-ess
    static_configs:
      - targets: ['127.0.0.1:10170']
  - job_name: test-target
    static_configs:
      - targets: ['127.0.0.1:19100']
`;

// The shape of the shipped trip examples, minus their "for:" so the test does not wait 30 s.
const TRIP_RULES_YML = `
groups:
  - name: e2e-trip
    rules:
      - alert: E2EDrawdownBreach
        expr: quantum_strategy_drawdown_ratio > 0.2
        labels:
          severity: critical
          ess_trip: "true"
        annotations:
          summary: drawdown above 20 %
`;

// A scrape target whose value is whatever /run/e2e/drawdown holds.
const TARGET_JS = `require('http').createServer((q, s) => {
  const v = require('fs').readFileSync('/run/e2e/drawdown', 'utf8').trim();
  s.end('# TYPE quantum_strategy_drawdown_ratio gauge\\nquantum_strategy_drawdown_ratio ' + v + '\\n');
}).listen(19100, '127.0.0.1');`;

beforeAll(async () => {
  box = await Sandbox.boot('ess-e2e');
  await box.mustRun('mkdir', '-p', '/run/e2e');
  // as docs/observability.md says: Alertmanager gets its own copy of the exporter's token
  await box.mustRun('install', '-D', '-m', '0640', '/etc/quantum/ess-webhook.token', '/etc/prometheus/ess-webhook.token');
  await box.sh(`printf '%s' '${PROMETHEUS_YML}' > /run/e2e/prometheus.yml`);
  await box.sh(`printf '%s' '${TRIP_RULES_YML}' > /run/e2e/trip.rules.yml && echo 0.05 > /run/e2e/drawdown`);
  await box.mustRun('systemd-run', '--unit=e2e-target', '/usr/bin/node', '-e', TARGET_JS);
  await startPrometheus(box, { unit: 'e2e-prometheus', configFile: '/run/e2e/prometheus.yml', port: 9090 });
  await startAlertmanager(box, { unit: 'e2e-alertmanager', configFile: `${SRC}/alerting/alertmanager.example.yml`, port: 9093 });
  await waitUntil('Prometheus to scrape the exporter and the target', async () =>
    (await promQuery(box, 'sum(up)').catch(() => null))?.data.result[0]?.value[1] === '2', 30_000, 100);
  // one earlier activation/deactivation, so every dashboard series (deactivation time too) exists
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'activate', '--reason', 'e2e warm-up');
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'deactivate', '--reason', 'e2e warm-up done');
});
afterAll(async () => {
  await box?.shutdown();
});

describe('Prometheus -> Alertmanager -> webhook -> latch, with the real binaries', () => {
  it('loads the shipped rules into a real Prometheus', async () => {
    const rules = JSON.parse(await box.mustRun('curl', '-fsS', 'http://127.0.0.1:9090/api/v1/rules')) as {
      data: { groups: { name: string; rules: { name: string; health: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toEqual(expect.arrayContaining(['ESSActive', 'ESSLatchViolation', 'E2EDrawdownBreach']));
    for (const rule of loaded) expect(rule.health, rule.name).not.toBe('err');
  });

  it('stops every trading unit when a trip alert fires, and says how long it took', async () => {
    expect(await box.exists(FLAG)).toBe(false);
    await box.mustRun('/usr/local/sbin/proof_ess.sh', '--dry-run'); // a drill record for the dashboard's drill panels
    const flipped = Date.now() / 1000;
    await box.sh('echo 0.5 > /run/e2e/drawdown');
    await waitUntil('the ESS to be tripped by the alert', () => box.exists(FLAG), 30_000, 100);
    await waitUntil('every trading unit to stop', async () => {
      const states = await box.activeStates(TRADING);
      return Object.values(states).every((s) => s === 'inactive' || s === 'failed');
    }, 5000, 100);
    await waitUntil('the activation to be recorded', async () =>
      (await box.stateJson().catch(() => null))?.last_activation?.source === 'alertmanager', 5000, 100);
    const state = await box.stateJson();
    expect(state.last_activation?.reason).toContain('E2EDrawdownBreach');
    const monitors = await box.activeStates(MONITOR);
    for (const unit of MONITOR) expect(monitors[unit]).toBe('active');

    const firing = (await promAlerts(box)).find((a) => a.labels.alertname === 'E2EDrawdownBreach');
    expect(firing).toBeDefined();
    const firedAt = Date.parse(firing?.activeAt ?? '') / 1000;
    const stoppedAt = state.last_activation?.all_stopped_time ?? Number.NaN;
    console.log(
      `alert e2e: metric crossed -> alert active ${(firedAt - flipped).toFixed(2)} s (scrape + evaluation), ` +
        `alert active -> all trading units stopped ${(stoppedAt - firedAt).toFixed(2)} s, ` +
        `total ${(stoppedAt - flipped).toFixed(2)} s`,
    );
    expect(stoppedAt).toBeGreaterThan(firedAt);
  });

  it('runs every Grafana panel query against that Prometheus: each parses and returns data', async () => {
    // a maintenance exemption and a drill record, so that their panels have something to show
    await box.mustRun('/usr/local/sbin/ess_controller.sh', 'exempt', 'quantum-execution', '--for', '10m', '--reason', 'e2e panels');
    // give counters and increase() windows a few scrapes after the trip
    await new Promise((r) => setTimeout(r, 3000));
    for (const panelQuery of PANEL_QUERIES) {
      const expr = toRunnableQuery(panelQuery, { rateInterval: '1m' });
      const r = await promQuery(box, expr);
      expect(r.status, `${expr}: ${r.error ?? ''}`).toBe('success');
      // on-trip actions and the dead man's switch are opt-in: their series exist only once an
      // action has run or a heartbeat arrived, neither of which this sandbox sets up
      if (OPT_IN_SERIES.test(expr)) continue;
      expect(r.data.result.length, `no data for ${expr}`).toBeGreaterThan(0);
    }
  });
});
