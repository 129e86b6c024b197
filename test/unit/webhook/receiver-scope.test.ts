import { afterEach, describe, expect, it } from 'vitest';
import { sample } from '../helpers.js';
import { sampleAlert, samplePayload } from './fixtures.js';
import { startWebhookHarness, type WebhookHarness } from './webhook-harness.js';

let harness: WebhookHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<WebhookHarness> {
  harness = await startWebhookHarness({ config: { host: 'h1', groups: ['exec', 'eu'] } });
  return harness;
}

const scoped = (fingerprint: string, labels: Record<string, string>) =>
  sampleAlert('Breach', fingerprint, { labels: { alertname: 'Breach', ess_trip: 'true', ...labels } });

describe('POST /alertmanager: trip scope', () => {
  it('exposes its identity', async () => {
    const h = await start();
    expect(sample(await h.metrics(), 'ess_identity_info{host="h1",groups="exec,eu"}')).toBe(1);
  });

  it('trips on its own host and group scopes, and writes the scope into the request', async () => {
    const h = await start();
    const res = await h.post(samplePayload('Breach', 'f1', [scoped('f1', { ess_host: 'h1' }), scoped('f2', { ess_group: 'eu' })]));
    expect(res.status).toBe(200);
    expect((res.json() as { tripped: unknown[] }).tripped).toHaveLength(2);
    const files = await h.spoolEntries('incoming');
    const contents = await Promise.all(files.map((file) => h.readRequest(file)));
    expect(contents.map((text) => text.split('\n')[1]).sort()).toEqual(['scope=group:eu', 'scope=host:h1']);
    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="host",decision="trip"}')).toBe(1);
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="group",decision="trip"}')).toBe(1);
  });

  it('logs at most 20 alerts scoped to other hosts a minute: a flood of them is counted, not written to the journal', async () => {
    const h = await start();
    const alerts = Array.from({ length: 250 }, (_, i) => scoped(`o${i}`, { ess_host: 'nothere' }));
    expect((await h.post(samplePayload('Breach', 'o0', alerts))).status).toBe(200);
    expect(h.logs.filter((line) => line.includes('not tripped here'))).toHaveLength(20);
    expect(sample(await h.metrics(), 'ess_webhook_scope_decisions_total{scope="host",decision="other_target"}')).toBe(250);
  });

  it('answers 200 without tripping on an alert scoped to another host or group, counted and logged', async () => {
    const h = await start();
    const alerts = [scoped('f1', { ess_host: 'h2' }), scoped('f2', { ess_group: 'us' }), scoped('f3', { ess_host: 'h1', ess_group: 'us' })];
    const res = await h.post(samplePayload('Breach', 'f1', alerts));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      tripped: [],
      failed: [],
      invalid_scope: [],
      other_target: [
        { fingerprint: 'f1', scope: 'host:h2' },
        { fingerprint: 'f2', scope: 'group:us' },
        { fingerprint: 'f3', scope: 'host:h1' },
      ],
    });
    expect(await h.spoolEntries('incoming')).toEqual([]);
    expect(h.logs).toContain(
      'webhook: info: alert Breach fingerprint f1 is scoped to host:h2, not this host (host h1, groups exec,eu): not tripped here',
    );
    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="host",decision="other_target"}')).toBe(2);
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="group",decision="other_target"}')).toBe(1);
    expect(sample(metrics, 'ess_webhook_trips_written_total')).toBe(0);
    expect(sample(metrics, 'ess_webhook_alerts_matched_total')).toBe(3);
  });

  it('refuses an invalid scope on every host: 200, not tripped, an error line naming the value', async () => {
    const h = await start();
    const res = await h.post(samplePayload('Breach', 'f1', [scoped('f1', { ess_scope: 'everyone\n' }), scoped('f2', {})]));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      tripped: [{ fingerprint: 'f2' }],
      invalid_scope: [{ fingerprint: 'f1', problem: 'ess_scope="everyone\\n" is not "fleet"' }],
    });
    expect(h.logs).toContain(
      'webhook: ERROR invalid trip scope, NOT tripped (on any host) for alert Breach fingerprint f1: ess_scope="everyone\\n" is not "fleet"',
    );
    const files = await h.spoolEntries('incoming');
    expect(files).toHaveLength(1);
    expect(await h.readRequest(files[0] ?? '')).toContain('\nscope=unscoped\n');
    const metrics = await h.metrics();
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="invalid",decision="invalid"}')).toBe(1);
    expect(sample(metrics, 'ess_webhook_scope_decisions_total{scope="fleet",decision="trip"}')).toBe(1);
  });
});
