import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { validateHeartbeatRecord } from '../../../src/contract/validators.generated.js';
import { HeartbeatRecorder } from '../../../src/webhook/heartbeat.js';
import { parsePayload } from '../../../src/webhook/payload.js';
import { sample } from '../helpers.js';
import { sampleAlert, samplePayload } from './fixtures.js';
import { startWebhookHarness, type WebhookHarness } from './webhook-harness.js';

const HOUR_MS = 3600 * 1000;

/** The ESSWatchdog heartbeat as Alertmanager delivers it: Prometheus's external labels on it, endsAt ahead. */
function heartbeat(endsAtMs: number, overrides: Record<string, string> = {}, labels: Record<string, string> = {}) {
  const alert = sampleAlert('ESSWatchdog', 'f00dfeed', {
    labels: { alertname: 'ESSWatchdog', ess_heartbeat: 'true', service: 'quantum-ess', prometheus: 'prom-1', ...labels },
    startsAt: new Date(Date.now() - 24 * HOUR_MS).toISOString(),
    endsAt: new Date(endsAtMs).toISOString(),
    ...overrides,
  });
  return { ...samplePayload('ESSWatchdog', 'f00dfeed', [alert]), groupKey: '{}/{ess_heartbeat="true"}:{alertname="ESSWatchdog"}' };
}

describe('the heartbeat of the dead man\'s switch', () => {
  let harness: WebhookHarness;
  afterEach(async () => harness.close());

  const start = async (): Promise<WebhookHarness> =>
    (harness = await startWebhookHarness({
      spoolDirs: ['tmp', 'incoming', 'reserve', 'heartbeat'],
      // a broad trip rule that also matches the heartbeat: it must still never trip
      config: { trip_rules: [['service="quantum-ess"']] },
    }));
  const last = (): string => join(harness.spoolDir, 'heartbeat', 'last');
  const record = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(last(), 'utf8')) as Record<string, unknown>;

  it('records a fresh heartbeat atomically, with its path, and never trips on it', async () => {
    await start();
    const res = await harness.post(heartbeat(Date.now() + 4 * 60_000));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ tripped: [], heartbeats: 1 });
    expect(await harness.spoolEntries('incoming')).toEqual([]);
    const written = await record();
    expect(validateHeartbeatRecord(written), JSON.stringify(validateHeartbeatRecord.errors)).toBe(true);
    expect(written).toMatchObject({ schema: 1, path: 'prometheus=prom-1 via http://alertmanager:9093', receiver: 'quantum-ess' });
    expect(written.group_key).toContain('ess_heartbeat');
    const metrics = await harness.metrics();
    expect(sample(metrics, 'ess_watchdog_heartbeats_total{result="fresh"}')).toBe(1);
    expect(sample(metrics, 'ess_watchdog_last_heartbeat_timestamp_seconds')).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('replaces the record at every fresh heartbeat (a new inode each time: what the root side watches)', async () => {
    await start();
    await harness.post(heartbeat(Date.now() + 4 * 60_000));
    const first = await stat(last());
    await harness.post(heartbeat(Date.now() + 5 * 60_000));
    const second = await stat(last());
    expect(second.ino).not.toBe(first.ino);
  });

  it.each([
    ['future', 'an endsAt days ahead', (now: number) => heartbeat(now + 48 * HOUR_MS)],
    ['future', 'a startsAt days ahead', (now: number) => heartbeat(now + 60_000, { startsAt: new Date(now + 48 * HOUR_MS).toISOString() })],
    ['replay', 'an endsAt long past', (now: number) => heartbeat(now - 3 * HOUR_MS)],
  ] as const)('does not count a heartbeat with %s: %s', async (result, _what, payload) => {
    await start();
    expect((await harness.post(payload(Date.now()))).status).toBe(200);
    await expect(stat(last())).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sample(await harness.metrics(), `ess_watchdog_heartbeats_total{result="${result}"}`)).toBe(1);
  });

  it('counts a wall-clock hour either way as fresh (the allowance), and each of Alertmanager\'s repeats, word for word the same', async () => {
    await start();
    const now = Date.now();
    expect((await harness.post(heartbeat(now + HOUR_MS + 4 * 60_000))).json()).toMatchObject({ heartbeats: 1 });
    // a Prometheus whose clock stepped back an hour: older than the last, still a new heartbeat
    expect((await harness.post(heartbeat(now - HOUR_MS + 4 * 60_000))).status).toBe(200);
    // Alertmanager sends a firing alert's endsAt as year 1: every repeat is the same delivery again,
    // and each one is a new heartbeat (a new record for the root side)
    const repeat = heartbeat(now, { endsAt: '0001-01-01T00:00:00Z' });
    await harness.post(repeat);
    const first = await stat(last());
    await harness.post(repeat);
    expect((await stat(last())).ino).not.toBe(first.ino);
    const metrics = await harness.metrics();
    expect(sample(metrics, 'ess_watchdog_heartbeats_total{result="fresh"}')).toBe(4);
    expect(sample(metrics, 'ess_watchdog_heartbeats_total{result="replay"}')).toBe(0);
    // another Prometheus of the HA pair is its own path
    await harness.post({ ...repeat, alerts: repeat.alerts.map((a) => ({ ...a, labels: { ...a.labels, prometheus: 'prom-2' } })) });
    expect(sample(await harness.metrics(), 'ess_watchdog_heartbeats_total{result="fresh"}')).toBe(5);
    expect((await record()).path).toBe('prometheus=prom-2 via http://alertmanager:9093');
  });

  it('answers 200 and counts it when the record cannot be written: the root side sees the silence', async () => {
    harness = await startWebhookHarness();
    const res = await harness.post(heartbeat(Date.now() + 60_000));
    expect(res.status).toBe(200);
    expect(sample(await harness.metrics(), 'ess_watchdog_heartbeats_total{result="unrecorded"}')).toBe(1);
    expect(harness.logs.join('\n')).toContain('heartbeat NOT recorded');
  });

  it('counts a gap when a fresh heartbeat comes more than half the limit after the one before, on the monotonic clock', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'heartbeat-gaps-'));
    try {
      await mkdir(join(spool, 'heartbeat'));
      const registry = new Registry();
      let mono = 1000;
      // the wall clock jumps an hour between the deliveries: the gaps are counted on the other one
      let wall = Date.now();
      const recorder = new HeartbeatRecorder(spool, registry, () => undefined, () => wall, { maxSilenceSec: 300, monotonicMs: () => mono });
      const deliver = async (afterMs: number): Promise<void> => {
        mono += afterMs;
        wall += 3600_000;
        const parsed = parsePayload(heartbeat(wall, { endsAt: '0001-01-01T00:00:00Z' }));
        if (!parsed.ok) throw new Error(parsed.details.join('; '));
        const [alert] = parsed.payload.alerts;
        if (alert === undefined) throw new Error('no alert in the heartbeat');
        expect(await recorder.record(alert, parsed.payload, wall)).toBe('fresh');
      };
      await deliver(0); // the first one: nothing before it
      await deliver(150_000); // exactly half the limit: not a gap
      await deliver(150_001);
      await deliver(60_000);
      expect(sample(await registry.metrics(), 'ess_watchdog_heartbeat_gaps_total')).toBe(1);
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });
});
