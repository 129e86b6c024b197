// The dead man's switch on real systemd: heartbeats through the installed receiver, the root side's
// timer (quantum-ess-watchdog.timer), and what it does when they stop: trip, alert, or nothing
// while paused. Limits are short here (10 s); the shipped defaults are 300 s and 600 s.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { metricValue, Sandbox, TRADING } from '../../sandbox/sandbox.js';
import { schemaErrors } from '../contract/schemas.js';
import { lastActivation as lastActivationOf, setWatchdogKeys, tripped as trippedOf, watchdogState as watchdogStateOf } from './watchdog-box.js';

const LIMIT_SEC = 10;
const GRACE_SEC = 10;
let box: Sandbox;
let token = '';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One ESSWatchdog delivery as Alertmanager sends it, POSTed to the receiver; its HTTP code. */
async function heartbeat(options: { shiftMs?: number; auth?: boolean } = {}): Promise<string> {
  const now = Date.now() + (options.shiftMs ?? 0);
  const payload = JSON.stringify({
    version: '4', groupKey: '{}/{ess_heartbeat="true"}:{alertname="ESSWatchdog"}', truncatedAlerts: 0, status: 'firing',
    receiver: 'quantum-ess', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am-1:9093',
    alerts: [{ status: 'firing', labels: { alertname: 'ESSWatchdog', ess_heartbeat: 'true', service: 'quantum-ess', prometheus: 'prom-1' },
      annotations: {}, startsAt: new Date(now - 3600_000).toISOString(), endsAt: new Date(now + 240_000).toISOString(),
      generatorURL: 'http://prom-1:9090', fingerprint: 'a1b2c3d4e5f60718' }],
  });
  const auth = options.auth === false ? [] : ['-H', `Authorization: Bearer ${token}`];
  return (await box.mustRun('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...auth,
    '-H', 'Content-Type: application/json', '--data', payload, 'http://127.0.0.1:10170/alertmanager')).trim();
}

/** Heartbeats every 2 s for `ms`. */
async function beat(ms: number, options: { shiftMs?: number } = {}): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(2000)) expect(await heartbeat(options)).toBe('200');
}

const watchdogState = () => watchdogStateOf(box);
const tripped = (since: number, timeoutMs: number) => trippedOf(box, since, timeoutMs);
const lastActivation = () => lastActivationOf(box);

async function configure(action: string): Promise<void> {
  await resetHeld();
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'watchdog', 'pause', '--for', '10m', '--reason', 'reconfigure');
  await setWatchdogKeys(box, action, LIMIT_SEC, GRACE_SEC);
}

beforeAll(async () => {
  box = await Sandbox.boot('ess-watchdog');
  await box.requireExporter();
  token = (await box.readFile('/etc/quantum/ess-webhook.token')).trim();
});
afterAll(async () => {
  await box?.shutdown();
});
/** Between tests: held by a pause while the box is reset (which may take longer than the grace period), then a heartbeat. */
async function resetHeld(): Promise<void> {
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'watchdog', 'pause', '--for', '10m', '--reason', 'test reset');
  await box.reset();
  expect(await heartbeat()).toBe('200');
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'watchdog', 'resume');
}

beforeEach(resetHeld);

describe('dead man\'s switch, WATCHDOG_ACTION=trip', () => {
  beforeAll(async () => configure('trip'));

  it('stays quiet while heartbeats arrive, and trips once they stop for the limit', async () => {
    await beat((GRACE_SEC + LIMIT_SEC + 5) * 1000);
    expect(await box.exists('/run/quantum/ESS_ON')).toBe(false);
    expect((await watchdogState()).state).toBe('fresh');
    expect(metricValue(await box.scrape(), 'ess_watchdog_last_heartbeat_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 10);
    expect(metricValue(await box.scrape(), 'ess_watchdog_max_silence_seconds')).toBe(LIMIT_SEC);
    const silentSince = Date.now();
    const ms = await tripped(silentSince, (LIMIT_SEC + 15) * 1000);
    expect(ms, 'all trading units down').not.toBeNull();
    // the limit, then at most one timer period (5 s) and the stop
    expect(ms).toBeGreaterThanOrEqual((LIMIT_SEC - 2) * 1000);
    expect(ms).toBeLessThan((LIMIT_SEC + 9) * 1000);
    console.log(`watchdog: heartbeat silence -> all trading units down in ${ms} ms (limit ${LIMIT_SEC} s)`);
    expect((await lastActivation()).reason).toMatch(/^watchdog: monitoring silent \(no heartbeat\) for \d+ s \(limit 10 s\); last heartbeat via prometheus=prom-1 via http:\/\/am-1:9093$/);
    expect(await box.mustRun('journalctl', '-t', 'quantum-ess', '-p', 'crit', '--no-pager', '-o', 'cat')).toContain('WATCHDOG: monitoring silent');
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toMatch(/"event":"watchdog-silent","action":"trip","silence_sec":\d+,"max_silence_sec":10/);
    expect((await watchdogState()).state).toBe('silent');
    expect(metricValue(await box.scrape(), 'ess_watchdog_silent')).toBe(1);
  });

  it('a deactivate starts a new grace period, after which a still missing heartbeat trips again', async () => {
    await beat(4000);
    expect(await tripped(Date.now(), (GRACE_SEC + LIMIT_SEC + 15) * 1000)).not.toBeNull();
    expect((await box.ess('deactivate', '--reason', 'monitoring back soon')).exitCode).toBe(0);
    expect(await box.exists('/run/quantum/ESS_ON')).toBe(false);
    // the grace period starts at the first check after the deactivate (the timer runs every 5 s)
    let state = '';
    for (const until = Date.now() + 15_000; state !== 'grace' && Date.now() < until; await sleep(500)) state = (await watchdogState()).state;
    expect(state).toBe('grace');
    expect(await tripped(Date.now(), (GRACE_SEC + 10) * 1000)).not.toBeNull();
    expect((await lastActivation()).source).toBe('watchdog');
  });

  it('a pause holds it until resume; then a missing heartbeat trips at once', async () => {
    await beat(4000);
    const paused = await box.ess('watchdog', 'pause', '--for', '5m', '--reason', 'prometheus upgrade');
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^WATCHDOG PAUSED until \S+ \(for 5m\)/);
    await sleep((GRACE_SEC + LIMIT_SEC + 6) * 1000);
    expect(await box.exists('/run/quantum/ESS_ON')).toBe(false);
    const state = await watchdogState();
    expect(state.state).toBe('paused');
    expect(state.paused_until).toBeGreaterThan(Date.now() / 1000 + 200);
    expect(metricValue(await box.scrape(), 'ess_watchdog_paused_until_timestamp_seconds')).toBe(state.paused_until);
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toMatch(/"event":"watchdog-pause","until":\d+,"actor":"root","reason":"prometheus upgrade"/);
    const resumed = await box.ess('watchdog', 'resume');
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await tripped(Date.now(), 8000)).not.toBeNull();
    expect((await lastActivation()).source).toBe('watchdog');
  });

  it('refuses a pause longer than MAX_WATCHDOG_PAUSE_SEC, or without a reason, and pause as non-root', async () => {
    const long = await box.ess('watchdog', 'pause', '--for', '2h', '--reason', 'x');
    expect(long.exitCode).toBe(64);
    expect(long.stderr).toContain('longer than MAX_WATCHDOG_PAUSE_SEC (1h)');
    expect((await box.ess('watchdog', 'pause', '--for', '10m')).exitCode).toBe(64);
    expect((await box.run('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/local/sbin/ess_controller.sh', 'watchdog', 'pause', '--for', '10m', '--reason', 'x')).exitCode).toBe(77);
    expect(await box.exists('/run/quantum-ess/watchdog-pause')).toBe(false);
  });

  it('heartbeats dated an hour ahead or behind (a clock step between hosts) still count: no trip', async () => {
    await beat((GRACE_SEC + LIMIT_SEC) * 500, { shiftMs: 3600_000 });
    await beat((GRACE_SEC + LIMIT_SEC) * 500 + 6000, { shiftMs: -3600_000 + 250_000 });
    expect(await box.exists('/run/quantum/ESS_ON')).toBe(false);
    expect((await watchdogState()).state).toBe('fresh');
  });

  it('forged heartbeats without the token are refused and cannot keep it quiet', async () => {
    await sleep(1000);
    const until = Date.now() + (GRACE_SEC + LIMIT_SEC + 8) * 1000;
    while (Date.now() < until && !(await box.exists('/run/quantum/ESS_ON'))) {
      expect(await heartbeat({ auth: false })).toBe('401');
      await sleep(500);
    }
    expect(await tripped(Date.now(), 5000)).not.toBeNull();
  });

  it('a dead exporter stops the heartbeats too: it trips (the whole chain fails closed)', async () => {
    await beat(4000);
    await box.mustRun('systemctl', 'stop', 'quantum-ess-exporter.socket', 'quantum-ess-exporter.service');
    try {
      const ms = await tripped(Date.now(), (GRACE_SEC + LIMIT_SEC + 10) * 1000);
      expect(ms, 'all trading units down').not.toBeNull();
      expect((await lastActivation()).reason).toContain('last heartbeat via prometheus=prom-1');
    } finally {
      await box.mustRun('systemctl', 'start', 'quantum-ess-exporter.socket', 'quantum-ess-exporter.service');
    }
  });
});

describe('dead man\'s switch, WATCHDOG_ACTION=trip, when its own parts fail', () => {
  beforeAll(async () => configure('trip'));

  it('a full /run does not keep it quiet: a heartbeat it cannot record does not count, it trips at the limit, each check fails', async () => {
    await beat(4000);
    const options = (await box.mustRun('findmnt', '-n', '-o', 'OPTIONS', '/run')).trim();
    const size = /(?:^|,)size=([^,]+)/.exec(options)?.[1] ?? '20%';
    await box.mustRun('mount', '-o', 'remount,size=4M', '/run');
    try {
      await box.run('dd', 'if=/dev/zero', 'of=/run/fill', 'bs=4k');
      // a heartbeat after /run filled up: a new record the check cannot write down
      expect(await heartbeat()).toBe('200');
      // until the trip: the checks that cannot write fail (the stop frees the trading units' room in /run)
      let failed = false;
      let down = false;
      for (const end = Date.now() + (LIMIT_SEC + 20) * 1000; Date.now() < end && !down; await sleep(250)) {
        failed ||= (await box.mustRun('systemctl', 'show', '-P', 'Result', 'quantum-ess-watchdog.service')).trim() === 'exit-code';
        down = Object.values(await box.activeStates(TRADING)).every((state) => ['inactive', 'failed'].includes(state));
      }
      expect(down, 'all trading units down').toBe(true);
      expect(failed, 'quantum-ess-watchdog.service failed while /run was full').toBe(true);
      // the stop that happened is recorded, /run full or not
      const last = await lastActivation();
      expect(last.reason).toContain('watchdog');
      expect((await box.stateJson()).active).toBe(true);
    } finally {
      await box.mustRun('rm', '-f', '/run/fill');
      await box.mustRun('mount', '-o', `remount,size=${size}`, '/run');
    }
  });

  it('a rearm does not restart the grace period: a silence already counted trips at the limit', async () => {
    await beat(4000);
    const since = Date.now();
    // before, each rearm started a new grace period: rearmed faster than that, it never tripped
    while (Date.now() - since < (LIMIT_SEC + GRACE_SEC + 15) * 1000 && !(await box.exists('/run/quantum/ESS_ON'))) {
      await box.mustRun('/usr/local/sbin/ess_controller.sh', 'rearm');
      await sleep(2000);
    }
    expect(await tripped(since, 10_000), 'all trading units down').not.toBeNull();
    expect((await lastActivation()).source).toBe('watchdog');
  });

  it('a stopped timer is stale: status --json, status, the drill and the exporter say so, not the last "fresh"', async () => {
    await beat(4000);
    await box.mustRun('systemctl', 'stop', 'quantum-ess-watchdog.timer');
    try {
      await sleep(36_000);
      const status = JSON.parse((await box.ess('status', '--json')).stdout) as { watchdog: { state: string } };
      expect(schemaErrors('status.schema.json', status)).toEqual([]);
      expect(status.watchdog.state).toBe('stale');
      expect((await watchdogState()).state).toBe('fresh');
      expect((await box.ess('status')).stdout).toMatch(/WARNING: {2}watchdog \(WATCHDOG_ACTION=trip\): STALE: no check for 30 s or more/);
      expect((await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run')).stdout).toMatch(/FAIL.*monitoring heartbeat.*no watchdog check for 30 s or more \(stale\)/);
      const scrape = await box.scrape();
      expect(metricValue(scrape, 'ess_watchdog_check_stale')).toBe(1);
      expect(metricValue(scrape, 'ess_watchdog_silent')).toBeUndefined();
    } finally {
      // held while it starts again: the blind time would count as silence and trip at once
      await box.mustRun('/usr/local/sbin/ess_controller.sh', 'watchdog', 'pause', '--for', '10m', '--reason', 'timer back');
      await box.mustRun('systemctl', 'start', 'quantum-ess-watchdog.timer');
    }
    await sleep(6000);
    expect(metricValue(await box.scrape(), 'ess_watchdog_check_stale')).toBe(0);
  });
});

describe('dead man\'s switch, WATCHDOG_ACTION=alert', () => {
  beforeAll(async () => configure('alert'));

  it('pages (journal crit, audit, metric) and stops nothing', async () => {
    await beat(4000);
    await sleep((GRACE_SEC + LIMIT_SEC + 8) * 1000);
    expect(await box.exists('/run/quantum/ESS_ON')).toBe(false);
    expect(Object.values(await box.activeStates(TRADING)).every((s) => s === 'active')).toBe(true);
    expect((await watchdogState()).state).toBe('silent');
    expect(metricValue(await box.scrape(), 'ess_watchdog_silent')).toBe(1);
    expect(metricValue(await box.scrape(), 'ess_watchdog_action{action="alert"}')).toBe(1);
    expect(await box.mustRun('journalctl', '-t', 'quantum-ess', '-p', 'crit', '--no-pager', '-o', 'cat')).toContain('WATCHDOG_ACTION=alert: trading NOT stopped');
    expect(await box.readFile('/var/log/quantum-ess/audit.jsonl')).toMatch(/"event":"watchdog-silent","action":"alert"/);
    // the dry-run drill says the heartbeat is missing; status says so too
    const drill = await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run');
    expect(drill.stdout).toMatch(/FAIL.*monitoring heartbeat.*no fresh heartbeat \(watchdog state silent/);
    expect((await box.ess('status')).stdout).toMatch(/WATCHDOG: SILENT: last heartbeat \d+ s ago via prometheus=prom-1 via http:\/\/am-1:9093 \(limit 10 s\), WATCHDOG_ACTION=alert/);
    // the heartbeat back: fresh again (status --json too, as the contract says), and the drill passes it
    await beat(6500);
    expect((await watchdogState()).state).toBe('fresh');
    expect(schemaErrors('watchdog.schema.json', await watchdogState())).toEqual([]);
    const status = JSON.parse((await box.ess('status', '--json')).stdout) as { watchdog: { state: string } };
    expect(schemaErrors('status.schema.json', status)).toEqual([]);
    expect(status.watchdog.state).toBe('fresh');
    expect(schemaErrors('heartbeat.schema.json', JSON.parse(await box.readFile('/var/spool/quantum-ess/heartbeat/last')))).toEqual([]);
    expect(await heartbeat()).toBe('200');
    await sleep(5500);
    expect((await box.run('/usr/local/sbin/proof_ess.sh', '--dry-run')).stdout).toMatch(/PASS.*monitoring heartbeat.*last heartbeat \d+ s ago via prometheus=prom-1/);
  });
});
