import { mkdir, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sample } from '../helpers.js';
import { sampleAlert, samplePayload } from './fixtures.js';
import { startWebhookHarness, TOKEN, type HarnessOptions, type WebhookHarness } from './webhook-harness.js';

let harness: WebhookHarness | undefined;
async function start(options?: HarnessOptions): Promise<WebhookHarness> {
  harness = await startWebhookHarness(options);
  return harness;
}
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface DeliveryBody {
  tripped: { alertname: string; fingerprint: string; starts_at: string; request: string | null }[];
  deduplicated: { alertname: string; fingerprint: string }[];
  failed: { alertname: string; error: string }[];
  ignored: number;
  dry_run: boolean;
}

describe('POST /alertmanager: trips', () => {
  it('writes one trip request for a firing matching alert and answers 200 with what it did', async () => {
    const h = await start();
    const payload = samplePayload('QuantumDrawdownBreach', '1a2b3c4d5e6f7a8b');
    const res = await h.post(payload);
    expect(res.status).toBe(200);
    const body = res.json() as DeliveryBody;
    expect(body).toMatchObject({ deduplicated: [], failed: [], ignored: 0, dry_run: false });
    expect(body.tripped).toHaveLength(1);
    expect(body.tripped[0]).toMatchObject({ alertname: 'QuantumDrawdownBreach', fingerprint: '1a2b3c4d5e6f7a8b', starts_at: '2026-11-24T18:02:17.41Z' });

    const files = await h.spoolEntries('incoming');
    expect(files).toHaveLength(1);
    expect(body.tripped[0]?.request).toBe(`incoming/${files[0]}`);
    expect(await h.spoolEntries('tmp')).toEqual([]);
    const content = await h.readRequest(files[0] ?? '');
    expect(content).toBe(`source=alertmanager\nscope=unscoped\nreason=${`alert QuantumDrawdownBreach fingerprint=1a2b3c4d5e6f7a8b groupKey=${payload.groupKey}`.slice(0, 200)}\n`);
    expect(h.logs).toContain(`webhook: TRIP written incoming/${files[0]} scope=unscoped for alert QuantumDrawdownBreach fingerprint 1a2b3c4d5e6f7a8b`);

    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_requests_total{code="200"}')).toBe(1);
    expect(sample(metrics, 'ess_webhook_alerts_matched_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trips_written_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trip_failures_total')).toBe(0);
    expect(sample(metrics, 'ess_webhook_request_duration_seconds_count')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trip_stage_seconds_count{stage="receipt_to_latched"}')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trip_stage_seconds_count{stage="alert_to_receipt"}')).toBe(1);
  });

  it('never trips on resolved alerts, and ignores firing alerts no rule matches', async () => {
    const h = await start();
    const resolved = sampleAlert('A', 'f1', { status: 'resolved', endsAt: '2026-11-24T18:10:00Z' });
    const unmatched = sampleAlert('B', 'f2', { labels: { alertname: 'B', ess_trip: 'false' } });
    const res = await h.post(samplePayload('A', 'f1', [resolved, unmatched]));
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ tripped: [], deduplicated: [], failed: [], other_target: [], invalid_scope: [], ignored: 2, heartbeats: 0, dry_run: false });
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect(sample(await h.metrics(), 'ess_webhook_alerts_matched_total')).toBe(0);
  });

  it('writes one request per matching firing alert of a group', async () => {
    const h = await start();
    const alerts = [sampleAlert('A', 'f1'), sampleAlert('B', 'f2', { labels: { alertname: 'B' } }), sampleAlert('C', 'f3')];
    const body = (await h.post(samplePayload('A', 'f1', alerts))).json() as DeliveryBody;
    expect(body.tripped.map((t) => t.fingerprint)).toEqual(['f1', 'f3']);
    expect(body.ignored).toBe(1);
    expect(await h.spoolEntries('incoming')).toHaveLength(2);
  });

  it('applies the configured trip rules', async () => {
    const h = await start({ config: { trip_rules: [['alertname="QuantumDrawdownBreach"', 'severity=~"critical|page"']] } });
    const alerts = [
      sampleAlert('QuantumDrawdownBreach', 'f1', { labels: { alertname: 'QuantumDrawdownBreach', severity: 'page' } }),
      sampleAlert('QuantumDrawdownBreach', 'f2', { labels: { alertname: 'QuantumDrawdownBreach', severity: 'warning' } }),
      sampleAlert('Other', 'f3'),
    ];
    const body = (await h.post(samplePayload('X', 'f1', alerts))).json() as DeliveryBody;
    expect(body.tripped.map((t) => t.fingerprint)).toEqual(['f1']);
    expect(body.ignored).toBe(2);
  });

  it('logs and counts but writes nothing in dry-run mode', async () => {
    const h = await start({ config: { webhook_dry_run: true } });
    const res = await h.post(samplePayload('A', 'f1'));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ tripped: [{ alertname: 'A', fingerprint: 'f1', request: null }], dry_run: true });
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect(await h.spoolEntries('tmp')).toEqual([]);
    expect(h.logs).toContain('webhook: DRY RUN, would trip (scope=unscoped) for alert A fingerprint f1');
    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_dry_run_trips_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_alerts_matched_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trips_written_total')).toBe(0);
    // left on, it must be seen: a gauge, and the exporter's health naming the key
    expect(sample(metrics, 'ess_webhook_dry_run')).toBe(1);
    const health = await h.get('/healthz');
    expect(health.status).toBe(503);
    expect(health.json()).toMatchObject({ status: 'failing', trip_path: { ok: false, dry_run: true, problem: expect.stringMatching(/webhook_dry_run is true/) } });
  });
});

describe('the trip path in /healthz and the metrics', () => {
  it('ok with the reserve ready; failing, with why, when no spare request could be made', async () => {
    const h = await start();
    await h.exporter.webhook.fillReserve(); // the fill started at construction, finished
    const health = await h.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', trip_path: { ok: true, dry_run: false, reserve: 4, problem: '' } });
    expect(sample(await h.metrics(), 'ess_webhook_dry_run')).toBe(0);
    await h.close();

    const starved = await start({ spoolDirs: ['tmp', 'incoming'] });
    await starved.exporter.webhook.fillReserve();
    const failing = await starved.get('/healthz');
    expect(failing.status).toBe(503);
    expect(failing.json()).toMatchObject({ trip_path: { ok: false, reserve: 0, problem: expect.stringMatching(/no spare trip request ready.*ENOENT/) } });
    expect(sample(await starved.metrics(), 'ess_webhook_trip_reserve')).toBe(0);
  });
});

describe('POST /alertmanager: duplicates and failures', () => {
  it('writes once for the same fingerprint and startsAt, again for a new startsAt', async () => {
    const h = await start();
    expect((await h.post(samplePayload('A', 'f1'))).status).toBe(200);
    const again = await h.post(samplePayload('A', 'f1'));
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ tripped: [], deduplicated: [{ alertname: 'A', fingerprint: 'f1' }] });
    expect(await h.spoolEntries('incoming')).toHaveLength(1);

    const refired = samplePayload('A', 'f1', [sampleAlert('A', 'f1', { startsAt: '2026-11-24T19:00:00Z' })]);
    expect((await h.post(refired)).json()).toMatchObject({ tripped: [{ fingerprint: 'f1' }] });
    expect(await h.spoolEntries('incoming')).toHaveLength(2);
    expect(sample(await h.metrics(), 'ess_webhook_deduplicated_total')).toBe(1);
  });

  it('writes once when an HA pair delivers the same group at the same time', async () => {
    const h = await start();
    const responses = await Promise.all(Array.from({ length: 6 }, () => h.post(samplePayload('A', 'f1'))));
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
    const bodies = responses.map((r) => r.json() as DeliveryBody);
    expect(bodies.filter((b) => b.tripped.length === 1)).toHaveLength(1);
    expect(bodies.filter((b) => b.deduplicated.length === 1)).toHaveLength(5);
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
  });

  it('answers 500 naming the error when the request cannot be written, records nothing, and the retry writes', async () => {
    const h = await start();
    await rmdir(join(h.spoolDir, 'incoming'));
    const failed = await h.post(samplePayload('A', 'f1'));
    expect(failed.status).toBe(500);
    const body = failed.json() as { error: string; details: string[]; failed: unknown[]; tripped: unknown[] };
    expect(body.error).toBe('trip request could not be written');
    expect(body.details[0]).toMatch(/^A fingerprint f1: .*incoming\/ failed: ENOENT/);
    expect(body.tripped).toEqual([]);
    expect(await h.spoolEntries('tmp')).toEqual([]);
    expect(h.logs.some((line) => line.startsWith('webhook: TRIP FAILED for alert A fingerprint f1: '))).toBe(true);

    await mkdir(join(h.spoolDir, 'incoming'), { mode: 0o1730 });
    const retried = await h.post(samplePayload('A', 'f1'));
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject({ tripped: [{ fingerprint: 'f1' }], deduplicated: [] });
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_trip_failures_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trips_written_total')).toBe(1);
    expect(sample(metrics, 'ess_webhook_requests_total{code="500"}')).toBe(1);
  });

  it('still writes the other alerts of a group when one fails, and retries only the failed one', async () => {
    const h = await start();
    await h.post(samplePayload('A', 'f1'));
    // no way into incoming/ at all (tmp/ gone as well, so no fallback either)
    await rmdir(join(h.spoolDir, 'tmp'));
    await rename(join(h.spoolDir, 'incoming'), join(h.spoolDir, 'away'));
    const res = await h.post(samplePayload('A', 'f1', [sampleAlert('A', 'f1'), sampleAlert('B', 'f2')]));
    expect(res.status).toBe(500);
    expect(res.json()).toMatchObject({ deduplicated: [{ fingerprint: 'f1' }], failed: [{ fingerprint: 'f2' }] });
    await mkdir(join(h.spoolDir, 'tmp'), { mode: 0o1730 });
    await rename(join(h.spoolDir, 'away'), join(h.spoolDir, 'incoming'));
    const retried = await h.post(samplePayload('A', 'f1', [sampleAlert('A', 'f1'), sampleAlert('B', 'f2')]));
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject({ tripped: [{ fingerprint: 'f2' }], deduplicated: [{ fingerprint: 'f1' }] });
    expect(await h.spoolEntries('incoming')).toHaveLength(2);
  });
});

describe('POST /alertmanager: authorization', () => {
  it('refuses a missing or wrong token with 401, writes nothing and never logs the token', async () => {
    const h = await start();
    const missing = await h.post(samplePayload('A', 'f1'), { headers: { 'content-type': 'application/json' } });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="quantum-ess"');
    expect(missing.json()).toEqual({ error: 'unauthorized', details: ['missing credentials (Authorization: Bearer <token>)'] });

    // Wrong tokens of every length, prefixes and extensions of the right one included: the digest
    // comparison never meets buffers of different lengths (timingSafeEqual would throw: a 500).
    for (const wrong of ['x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), 'y'.repeat(4096), `${TOKEN} extra`]) {
      const res = await h.post(samplePayload('A', 'f1'), { headers: { 'content-type': 'application/json', authorization: `Bearer ${wrong}` } });
      expect(res.status, wrong).toBe(401);
    }
    for (const header of ['Token abc', TOKEN, 'Bearer', `Basic ${Buffer.from(`user:${TOKEN}x`).toString('base64')}`]) {
      const res = await h.post(samplePayload('A', 'f1'), { headers: { 'content-type': 'application/json', authorization: header } });
      expect(res.status, header).toBe(401);
    }
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect(sample(await h.metrics(), 'ess_webhook_requests_total{code="401"}')).toBe(11);
    expect(h.logs.join('\n')).not.toContain(TOKEN);
    expect(h.logs).toContain('webhook: 401 missing credentials from 127.0.0.1');
  });

  it('accepts the right token as Bearer (any case of the scheme) or as the basic-auth password', async () => {
    const h = await start();
    const json = { 'content-type': 'application/json' };
    expect((await h.post(samplePayload('A', 'f1'), { headers: { ...json, authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await h.post(samplePayload('A', 'f2'), { headers: { ...json, authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`;
    expect((await h.post(samplePayload('A', 'f3'), { headers: { ...json, authorization: basic } })).status).toBe(200);
    expect(await h.spoolEntries('incoming')).toHaveLength(3);
    expect(h.logs.join('\n')).not.toContain(TOKEN);
  });

  it('checks credentials before reading the body', async () => {
    const h = await start({ config: { webhook_body_limit_bytes: 2048 } });
    const headers = { 'content-type': 'application/json' };
    expect((await h.post('{not json', { headers })).status).toBe(401);
    expect((await h.post('x'.repeat(10_000), { headers })).status).toBe(401);
    expect((await h.post(samplePayload('A', 'f1'), { headers: { 'content-type': 'text/plain' } })).status).toBe(401);
  });

  it('accepts requests without credentials on loopback when no token file is configured', async () => {
    const h = await start({ token: null });
    const res = await h.post(samplePayload('A', 'f1'), { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
  });
});

describe('POST /alertmanager: malformed requests', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('answers 413 over webhook_body_limit_bytes and writes nothing', async () => {
    const h = await start({ config: { webhook_body_limit_bytes: 2048 } });
    const big = samplePayload('A', 'f1', [sampleAlert('A', 'f1', { annotations: { description: 'x'.repeat(4000) } })]);
    const res = await h.post(big);
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ error: 'body too large', details: ['limit is 2048 bytes (webhook_body_limit_bytes)'] });
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect((await h.post(samplePayload('A', 'f1'))).status).toBe(200);
  });

  it('answers 415 unless the content type is application/json', async () => {
    const h = await start();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await h.post(samplePayload('A', 'f1'), { headers: { ...auth, 'content-type': type } });
      expect(res.status, type).toBe(415);
      expect(res.json()).toMatchObject({ error: 'unsupported content type' });
    }
    expect((await h.post(samplePayload('A', 'f1'), { headers: auth })).status).toBe(415);
    const gzip = await h.post(samplePayload('A', 'f1'), { headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(gzip.status).toBe(415);
    expect(await h.spoolEntries('incoming')).toEqual([]);
    const charset = await h.post(samplePayload('A', 'f1'), { headers: { ...auth, 'content-type': 'application/json; charset=utf-8' } });
    expect(charset.status).toBe(200);
  });

  it('answers 405 with Allow: POST for other methods', async () => {
    const h = await start();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await h.post('', { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('POST');
    }
    expect(sample(await h.metrics(), 'ess_webhook_requests_total{code="405"}')).toBe(3);
  });

  it('answers 400 for malformed JSON, another version and schema errors, with the paths', async () => {
    const h = await start();
    const malformed = await h.post('{"version": "4",');
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toMatchObject({ error: 'malformed JSON' });

    expect((await h.post('"just a string"')).status).toBe(400);
    const empty = await h.post('');
    expect(empty.status).toBe(400);

    const v3 = await h.post({ ...samplePayload('A', 'f1'), version: '3' });
    expect(v3.status).toBe(400);
    expect(v3.json()).toEqual({ error: 'invalid payload', details: ['version: "3" is not "4"'] });

    const alerts = [sampleAlert('A', 'f1'), sampleAlert('B', 'f2'), { ...sampleAlert('C', 'f3'), labels: { severity: 2 } }];
    const schema = await h.post({ ...samplePayload('A', 'f1'), alerts });
    expect(schema.status).toBe(400);
    expect(schema.json()).toEqual({ error: 'invalid payload', details: ['alerts[2].labels.severity: 2 is not a string'] });
    // a payload refused as a whole trips nothing, not even its valid alerts
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect(sample(await h.metrics(), 'ess_webhook_requests_total{code="400"}')).toBe(5);
  });

  it('starts every status series at 0 so that increase() sees the first one', async () => {
    const h = await start();
    const metrics = await h.metrics();
    for (const code of [200, 400, 401, 405, 413, 415, 500]) expect(sample(metrics, `ess_webhook_requests_total{code="${code}"}`)).toBe(0);
    expect(sample(metrics, 'ess_webhook_request_duration_seconds_bucket{le="0.005"}')).toBe(0);
  });
});
