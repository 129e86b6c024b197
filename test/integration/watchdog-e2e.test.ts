// The dead man's switch end to end with the real binaries, in one systemd sandbox: Prometheus
// evaluates the shipped alerting/ess.rules.yml (ESSWatchdog, always firing) and sends it to an HA
// pair of Alertmanagers clustered by gossip, each running the shipped alertmanager.example.yml with
// route 0's timings shortened; they deliver the heartbeat to the installed receiver, and the root
// side's timer acts when it stops. What watchdog.test.ts checks with hand-made heartbeats is not
// repeated here: only what the real parts change. Limits are short (10 s; the shipped defaults are
// 300 s and 600 s), and so are the Alertmanagers' intervals (2 s instead of 1 min).
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitUntil } from '../../sandbox/fleet.js';
import { type AlertmanagerOptions, clusterPeers, promAlerts, promQuery, SRC, startAlertmanager, startPrometheus } from '../../sandbox/monitoring.js';
import { FLAG, metricValue, Sandbox, TRADING } from '../../sandbox/sandbox.js';
import { lastActivation, lastHeartbeat, setWatchdogKeys, tripped, watchdogState } from './watchdog-box.js';

const LIMIT_SEC = 10;
const GRACE_SEC = 10;
/** Silence -> all trading units down is measured this many times with both Alertmanagers stopped. */
const RUNS = 5;
const CTL = '/usr/local/sbin/ess_controller.sh';

// Route 0 as shipped, faster: a heartbeat every 2 s; the limit stays above 2 x repeat_interval +
// group_interval + the cluster's peer timeout (2 x 2 + 1 + 1 = 6 < 10), as docs/operator-guide.md says.
const ROUTE0_SHIPPED = '      group_interval: 15s\n      repeat_interval: 1m\n';
const ROUTE0_TEST = '      group_interval: 1s\n      repeat_interval: 2s\n';
const PEER_TIMEOUT = '1s';
// a restarted member notifies after at most this (the default waits up to 1 min for the gossip)
const SETTLE_TIMEOUT = '3s';

const PROMETHEUS = { unit: 'e2e-prometheus', configFile: '/run/e2e/prometheus.yml', port: 9090,
  // a firing alert expires in Alertmanager 4 x this after Prometheus last sent it (the default is 1m)
  args: ['--rules.alert.resend-delay=1s'] };
const ALERTMANAGERS: readonly AlertmanagerOptions[] = [
  { unit: 'e2e-am1', configFile: '/run/e2e/alertmanager.yml', port: 9093, externalUrl: 'http://am-1:9093', cluster: { port: 9094, peers: [9194], peerTimeout: PEER_TIMEOUT, settleTimeout: SETTLE_TIMEOUT } },
  { unit: 'e2e-am2', configFile: '/run/e2e/alertmanager.yml', port: 9193, externalUrl: 'http://am-2:9093', cluster: { port: 9194, peers: [9094], peerTimeout: PEER_TIMEOUT, settleTimeout: SETTLE_TIMEOUT } },
];

const PROMETHEUS_YML = `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    prometheus: prom-e2e
rule_files:
  - ${SRC}/alerting/ess.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:9093', '127.0.0.1:9193']
scrape_configs:
  - job_name: quantum-ess
    static_configs:
      - targets: ['127.0.0.1:10170']
`;

// The example's placeholder pager: whatever Alertmanager pages lands in /run/e2e/pager.log.
const PAGER_JS = `require('http').createServer((q, s) => {
  let body = ''; q.on('data', (c) => (body += c));
  q.on('end', () => { require('fs').appendFileSync('/run/e2e/pager.log', q.url + ' ' + body + '\\n'); s.end('ok'); });
}).listen(5001, '127.0.0.1');`;

// A local user's storm of forged heartbeats (no token, then a wrong one), 16 at a time, until the ESS
// latches or argv[1] seconds pass; prints the answers counted by status.
const STORM_JS = `const http = require('http'); const fs = require('fs');
const end = Date.now() + Number(process.argv[1]) * 1000; const counts = {};
const body = JSON.stringify({ version: '4', groupKey: '{}/{ess_heartbeat="true"}:{alertname="ESSWatchdog"}', status: 'firing',
  receiver: 'quantum-ess', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://forged:9093', truncatedAlerts: 0,
  alerts: [{ status: 'firing', labels: { alertname: 'ESSWatchdog', ess_heartbeat: 'true', service: 'quantum-ess', prometheus: 'forged' },
    annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: '0123456789abcdef' }] });
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const post = (n) => new Promise((done) => {
  const headers = { 'Content-Type': 'application/json', ...(n % 2 ? { Authorization: 'Bearer forged-token' } : {}) };
  const q = http.request('http://127.0.0.1:10170/alertmanager', { method: 'POST', agent, headers, timeout: 5000 }, (r) => {
    r.resume(); r.on('end', () => { counts[r.statusCode] = (counts[r.statusCode] || 0) + 1; done(); }); });
  q.on('timeout', () => q.destroy(new Error('timeout')));
  q.on('error', () => { counts.error = (counts.error || 0) + 1; done(); }); q.end(body); });
const worker = async (w) => { for (let n = w; Date.now() < end && !fs.existsSync('${FLAG}'); n += 16) await post(n); };
Promise.all(Array.from({ length: 16 }, (_, w) => worker(w))).then(() => { console.log(JSON.stringify(counts)); agent.destroy(); });`;

let box: Sandbox;

async function writeFile(path: string, text: string): Promise<void> {
  await box.mustRun('bash', '-c', `echo ${Buffer.from(text).toString('base64')} | base64 -d > ${path}`);
}

/** The shipped example with route 0's timings shortened; the rest as shipped. */
async function alertmanagerConfig(): Promise<string> {
  const shipped = await readFile(new URL('../../alerting/alertmanager.example.yml', import.meta.url), 'utf8');
  if (shipped.split(ROUTE0_SHIPPED).length !== 2) throw new Error('route 0 of alertmanager.example.yml no longer has its group_interval/repeat_interval pair');
  return shipped.replace(ROUTE0_SHIPPED, ROUTE0_TEST);
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

const stop = async (unit: string): Promise<void> => void (await box.mustRun('systemctl', 'stop', unit));
const stopAlertmanagers = async (): Promise<void> => void (await box.mustRun('systemctl', 'stop', ...ALERTMANAGERS.map((a) => a.unit)));
const startAlertmanagers = async (): Promise<void> => {
  for (const am of ALERTMANAGERS) if ((await box.show(`${am.unit}.service`, 'ActiveState').catch(() => '')) !== 'active') await startAlertmanager(box, am);
};

/** Until a heartbeat newer than `afterSec` (Unix s) has been recorded. */
async function waitHeartbeat(afterSec: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil('a new heartbeat', async () => ((await lastHeartbeat(box).catch(() => null))?.received ?? 0) > afterSec, timeoutMs, 250);
}

/** Every part back, then the ESS deactivated with heartbeats flowing: latch off, check fresh. */
async function restore(): Promise<void> {
  const since = Date.now() / 1000;
  await startAlertmanagers();
  if ((await box.show('e2e-prometheus.service', 'ActiveState').catch(() => '')) !== 'active') await startPrometheus(box, PROMETHEUS);
  await waitHeartbeat(since); // first the heartbeat, then the reset: a deactivate starts the grace period
  await box.reset();
  await waitUntil('the watchdog to see it fresh', async () => (await watchdogState(box).catch(() => null))?.state === 'fresh', 30_000, 250);
}

/**
 * Breaks the heartbeat's path with `cut`, waits for the trip and returns the activation and the
 * silence: the last heartbeat's arrival -> all trading units down (systemd's instants), in s.
 */
async function tripBy(cut: () => Promise<void>, what: string): Promise<{ silenceToDownSec: number; reason: string }> {
  expect(await box.exists(FLAG)).toBe(false);
  const before = (await box.stateJson().catch(() => null))?.last_activation?.id;
  await cut();
  expect(await tripped(box, Date.now(), (GRACE_SEC + LIMIT_SEC + 45) * 1000), `${what}: all trading units down`).not.toBeNull();
  const activation = await lastActivation(box, before);
  const last = await lastHeartbeat(box);
  const stoppedAt = activation.all_stopped_time ?? Number.NaN;
  // never early: the check counts from when it saw the heartbeat, which is after it arrived
  expect(activation.trigger_time - last.received, `${what}: tripped ${activation.trigger_time - last.received} s after the last heartbeat`).toBeGreaterThanOrEqual(LIMIT_SEC);
  expect(activation.reason).toMatch(/^watchdog: monitoring silent \(no heartbeat\) for \d+ s \(limit 10 s\); last heartbeat via prometheus=prom-e2e via http:\/\/am-[12]:9093$/);
  return { silenceToDownSec: stoppedAt - last.received, reason: activation.reason };
}

beforeAll(async () => {
  box = await Sandbox.boot('ess-watchdog-e2e');
  await box.requireExporter();
  await box.mustRun('mkdir', '-p', '/run/e2e');
  // as docs/observability.md says: Alertmanager gets its own copy of the exporter's token
  await box.mustRun('install', '-D', '-m', '0640', '/etc/quantum/ess-webhook.token', '/etc/prometheus/ess-webhook.token');
  await writeFile('/run/e2e/prometheus.yml', PROMETHEUS_YML);
  await writeFile('/run/e2e/alertmanager.yml', await alertmanagerConfig());
  await box.mustRun('amtool', 'check-config', '/run/e2e/alertmanager.yml');
  await box.mustRun('systemd-run', '--unit=e2e-pager', '/usr/bin/node', '-e', PAGER_JS);
  await startPrometheus(box, PROMETHEUS);
  await startAlertmanagers();
  await waitUntil('both Alertmanagers to see 2 peers', async () => (await clusterPeers(box, 9093)) === 2 && (await clusterPeers(box, 9193)) === 2, 90_000, 500);
  await waitHeartbeat(0);
  // on only now: with no heartbeat yet, the grace period is all that holds it
  await setWatchdogKeys(box, 'trip', LIMIT_SEC, GRACE_SEC);
  await restore();
}, 240_000);
afterAll(async () => {
  await box?.shutdown();
});

describe('dead man\'s switch with the real Prometheus and an HA pair of Alertmanagers, WATCHDOG_ACTION=trip', () => {
  it('keeps the heartbeat\'s age under the limit for twice the limit: no trip', async () => {
    const alerts = await promAlerts(box);
    expect(alerts.find((a) => a.labels.alertname === 'ESSWatchdog')?.state).toBe('firing');
    const paths = new Set<string>();
    for (const end = Date.now() + 2 * LIMIT_SEC * 1000; Date.now() < end; await sleep(1000)) {
      const state = await watchdogState(box);
      expect(state.state).toBe('fresh');
      expect(state.silence_sec).toBeLessThan(LIMIT_SEC);
      const heartbeat = await lastHeartbeat(box);
      paths.add(heartbeat.path);
      expect(Date.now() / 1000 - heartbeat.received).toBeLessThan(LIMIT_SEC);
    }
    expect(await box.exists(FLAG)).toBe(false);
    expect([...paths].every((p) => /^prometheus=prom-e2e via http:\/\/am-[12]:9093$/.test(p)), [...paths].join(', ')).toBe(true);
    // what Prometheus scrapes agrees: the switch not silent, the exporter's newest heartbeat recent
    await waitUntil('Prometheus to scrape ess_watchdog_silent 0', async () =>
      (await promQuery(box, 'ess_watchdog_silent{job="quantum-ess"}')).data.result[0]?.value[1] === '0', 10_000, 500);
    const age = await promQuery(box, 'time() - ess_watchdog_last_heartbeat_timestamp_seconds{job="quantum-ess"}');
    expect(Number(age.data.result[0]?.value[1])).toBeLessThan(LIMIT_SEC);
    expect((await promAlerts(box)).map((a) => a.labels.alertname)).not.toContain('ESSWatchdogSilent');
  }, 60_000);

  it('one Alertmanager of the two stopped (the one delivering): the other delivers, no trip', async () => {
    const current = (await lastHeartbeat(box)).path;
    const victim = ALERTMANAGERS.find((a) => current.endsWith(`via ${a.externalUrl ?? ''}`)) as AlertmanagerOptions;
    expect(victim, current).toBeDefined();
    const survivor = ALERTMANAGERS.find((a) => a !== victim) as AlertmanagerOptions;
    await stop(victim.unit);
    try {
      const stoppedAt = Date.now() / 1000;
      // longer than the limit plus a timer period: a silence would have tripped by then
      for (const end = Date.now() + (LIMIT_SEC + 8) * 1000; Date.now() < end; await sleep(1000)) {
        expect(await box.exists(FLAG), 'tripped with one Alertmanager up').toBe(false);
        expect((await watchdogState(box)).state).toBe('fresh');
      }
      const heartbeat = await lastHeartbeat(box);
      expect(heartbeat.received).toBeGreaterThan(stoppedAt);
      expect(heartbeat.path).toBe(`prometheus=prom-e2e via ${survivor.externalUrl ?? ''}`);
    } finally {
      await startAlertmanagers();
    }
    await waitUntil('both Alertmanagers to see 2 peers', async () => (await clusterPeers(box, 9093)) === 2 && (await clusterPeers(box, 9193)) === 2, 60_000, 500);
  }, 120_000);

  it(`both Alertmanagers stopped: trips after the limit (${RUNS} runs, measured)`, async () => {
    const seconds: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      try {
        seconds.push((await tripBy(stopAlertmanagers, `run ${run + 1}`)).silenceToDownSec);
      } finally {
        await restore();
      }
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    console.log(`watchdog e2e: last heartbeat -> all trading units down, both Alertmanagers stopped, limit ${LIMIT_SEC} s, timer 5 s, ` +
      `${RUNS} runs: p50 ${percentile(sorted, 0.5).toFixed(2)} s, p99 ${percentile(sorted, 0.99).toFixed(2)} s ` +
      `(min ${sorted[0]?.toFixed(2)}, all ${seconds.map((s) => s.toFixed(2)).join(' ')})`);
    for (const s of seconds) expect(s).toBeGreaterThanOrEqual(LIMIT_SEC);
    // each silence was longer than half the limit: the receiver counted a gap when the heartbeat came back
    expect(metricValue(await box.scrape(), 'ess_watchdog_heartbeat_gaps_total')).toBeGreaterThanOrEqual(RUNS);
  }, RUNS * 120_000);

  it('Prometheus stopped: the heartbeat expires in both Alertmanagers, then it trips', async () => {
    try {
      const { silenceToDownSec } = await tripBy(() => stop('e2e-prometheus'), 'Prometheus stopped');
      console.log(`watchdog e2e: Prometheus stopped: last heartbeat -> all trading units down ${silenceToDownSec.toFixed(2)} s`);
    } finally {
      await restore();
    }
  }, 180_000);

  it('the exporter killed and restarting slowly: no heartbeat is recorded, it trips', async () => {
    const dropIn = '/run/systemd/system/quantum-ess-exporter.service.d';
    await box.mustRun('mkdir', '-p', dropIn);
    await writeFile(`${dropIn}/slow-start.conf`, '[Service]\nExecStartPre=/bin/sleep 80\n');
    await box.mustRun('systemctl', 'daemon-reload');
    try {
      const { silenceToDownSec } = await tripBy(async () => {
        await box.mustRun('systemctl', 'kill', '--signal=SIGKILL', 'quantum-ess-exporter.service');
      }, 'exporter killed');
      console.log(`watchdog e2e: exporter killed (restart takes 80 s): last heartbeat -> all trading units down ${silenceToDownSec.toFixed(2)} s`);
      expect(await box.show('quantum-ess-exporter.service', 'ActiveState')).not.toBe('active');
    } finally {
      await box.mustRun('rm', '-rf', dropIn);
      await box.mustRun('systemctl', 'daemon-reload');
      await box.mustRun('systemctl', 'restart', 'quantum-ess-exporter.service');
      await restore();
    }
  }, 180_000);

  it('a storm of forged heartbeats from a local user without the token cannot keep it quiet', async () => {
    try {
      const storm = box.run('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/node', '-e', STORM_JS, String(GRACE_SEC + LIMIT_SEC + 40));
      const { silenceToDownSec } = await tripBy(stopAlertmanagers, 'forged heartbeat storm');
      const answers = await storm;
      expect(answers.exitCode, answers.stderr).toBe(0);
      const counts = JSON.parse(answers.stdout) as Record<string, number>;
      console.log(`watchdog e2e: during a storm of forged heartbeats (${JSON.stringify(counts)}): last heartbeat -> all trading units down ${silenceToDownSec.toFixed(2)} s`);
      expect(counts['401'] ?? 0).toBeGreaterThan(100);
      expect(Object.keys(counts).filter((k) => k !== '401' && k !== 'error')).toEqual([]);
      expect((await lastHeartbeat(box)).path).not.toContain('forged');
    } finally {
      await restore();
    }
  }, 180_000);

  it('a wall clock stepped an hour either way between checks (libfaketime) neither trips early nor delays the trip', async () => {
    // the timer's checks stop; each check here runs with the wall clock an hour ahead, an hour behind
    // or true, in turn: between two checks the clock steps by an hour or two
    const offsets = [3600, -3600, 0];
    let turn = 0;
    const check = async (): Promise<{ shift: number; state: string; silence: number | null; realSilence: number; time: number }> => {
      const shift = offsets[turn++ % offsets.length] ?? 0;
      const argv = shift === 0 ? [CTL] : ['faketime', '-f', `${shift > 0 ? '+' : '-'}${Math.abs(shift) / 3600}h`, CTL];
      await box.mustRun(...argv, 'watchdog', 'check');
      const [state, heartbeat] = [await watchdogState(box), await lastHeartbeat(box)];
      return { shift, state: state.state, silence: state.silence_sec, realSilence: Date.now() / 1000 - heartbeat.received, time: state.time - Date.now() / 1000 };
    };
    await box.mustRun('systemctl', 'stop', 'quantum-ess-watchdog.timer');
    try {
      for (const end = Date.now() + LIMIT_SEC * 1000; Date.now() < end; await sleep(500)) {
        const seen = await check();
        expect(seen.state, JSON.stringify(seen)).toBe('fresh');
        // the check did run on the shifted clock: the time it wrote is an hour off (or not)
        expect(Math.abs(seen.time - seen.shift), JSON.stringify(seen)).toBeLessThan(60);
      }
      const before = (await box.stateJson().catch(() => null))?.last_activation?.id;
      // killed, not stopped: a stop can take seconds under load, and the checks should start at once
      await box.mustRun('systemctl', 'kill', '--signal=SIGKILL', ...ALERTMANAGERS.map((a) => a.unit));
      const seen: Awaited<ReturnType<typeof check>>[] = [];
      for (const end = Date.now() + (LIMIT_SEC + 60) * 1000; Date.now() < end && !(await box.exists(FLAG)); await sleep(500)) seen.push(await check());
      expect(await tripped(box, Date.now(), 15_000), 'all trading units down').not.toBeNull();
      // the check that tripped returned once every trading unit was down; measured on the test's
      // clock (the activation's own record has the shifted clock its process was given)
      const silence = seen.at(-1)?.realSilence ?? Number.NaN;
      console.log(`watchdog e2e: wall clock stepped +-1 h between checks: last heartbeat -> trip check returned, all down, ${silence.toFixed(2)} s ` +
        `(checks after the Alertmanagers stopped, as shift s: state silence_sec / real silence s: ` +
        `${seen.map((c) => `${c.shift}: ${c.state} ${c.silence ?? '-'}/${c.realSilence.toFixed(1)}`).join(', ')})`);
      for (const s of seen) {
        // silent only beyond the limit, fresh only within it (the silence on the uptime clock), and
        // that silence is the real one, never an hour off
        expect(['fresh', 'silent'], JSON.stringify(s)).toContain(s.state);
        if (s.state === 'silent') expect(s.silence, JSON.stringify(s)).toBeGreaterThanOrEqual(LIMIT_SEC);
        else expect(s.silence, JSON.stringify(s)).toBeLessThanOrEqual(LIMIT_SEC);
        expect(Math.abs((s.silence ?? 0) - s.realSilence), JSON.stringify(s)).toBeLessThan(60);
      }
      expect((await lastActivation(box, before)).reason).toMatch(/^watchdog: monitoring silent \(no heartbeat\) for \d+ s \(limit 10 s\)/);
      expect(seen.at(-1)?.state).toBe('silent');
      expect(silence).toBeGreaterThanOrEqual(LIMIT_SEC);
      expect(silence, 'an hour late').toBeLessThan(LIMIT_SEC + 60);
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-watchdog.timer');
      await restore();
    }
  }, 240_000);

  it('a pause holds it while both Alertmanagers are down; once the pause expires it trips', async () => {
    const paused = await box.ess('watchdog', 'pause', '--for', '25s', '--reason', 'alertmanager upgrade');
    expect(paused.exitCode, paused.stderr).toBe(0);
    const until = (await watchdogState(box)).paused_until;
    const before = (await box.stateJson().catch(() => null))?.last_activation?.id;
    try {
      await stopAlertmanagers();
      let silentWhilePaused = false;
      while (Date.now() / 1000 < until - 1) {
        expect(await box.exists(FLAG), 'tripped during the pause').toBe(false);
        const state = await watchdogState(box);
        silentWhilePaused ||= state.state === 'paused' && (state.silence_sec ?? 0) > LIMIT_SEC;
        await sleep(500);
      }
      expect(silentWhilePaused, 'the silence passed the limit during the pause').toBe(true);
      expect(await tripped(box, Date.now(), 30_000), 'all trading units down after the pause').not.toBeNull();
      expect((await lastActivation(box, before)).trigger_time).toBeGreaterThanOrEqual(until - 1);
      expect(await box.mustRun('journalctl', '-t', 'quantum-ess', '--no-pager', '-o', 'cat')).toContain('WATCHDOG pause ended (expired)');
    } finally {
      await restore();
    }
  }, 120_000);
});

describe('dead man\'s switch with the real Prometheus and Alertmanagers, WATCHDOG_ACTION=alert', () => {
  beforeAll(async () => {
    await setWatchdogKeys(box, 'alert', LIMIT_SEC, GRACE_SEC);
    await restore();
  }, 120_000);

  it('pages through the real chain once an Alertmanager is back (ESSWatchdogSilent), and stops nothing', async () => {
    await stopAlertmanagers();
    try {
      await waitUntil('Prometheus to have ESSWatchdogSilent firing', async () =>
        (await promAlerts(box)).some((a) => a.labels.alertname === 'ESSWatchdogSilent' && a.state === 'firing'), (GRACE_SEC + LIMIT_SEC + 40) * 1000, 500);
      expect(await box.exists(FLAG)).toBe(false);
      expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
      expect(metricValue(await box.scrape(), 'ess_watchdog_silent')).toBe(1);
      await startAlertmanager(box, ALERTMANAGERS[0] as AlertmanagerOptions);
      await waitUntil('the page for ESSWatchdogSilent', async () =>
        (await box.run('grep', '-q', '"alertname":"ESSWatchdogSilent"', '/run/e2e/pager.log')).exitCode === 0, 60_000, 500);
      expect(await box.mustRun('grep', '-c', '^/pager ', '/run/e2e/pager.log')).not.toBe('0\n');
      expect(await box.exists(FLAG)).toBe(false);
      expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
    } finally {
      await restore();
    }
  }, 180_000);
});
