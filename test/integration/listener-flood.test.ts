// Clients that never read their answers, on real systemd: a local user (nobody) keeps 2,000
// connections open, each pipelining 16 GET /metrics and reading nothing, and reopens every one the
// exporter closes. Meanwhile Prometheus must get every scrape within its default scrape timeout and
// an Alertmanager trip must latch. (test/unit/http-starvation.test.ts is the same flood against the
// listener alone; this one adds the socket-activated address, the hardened unit and the latch.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, Sandbox, TRADING } from '../../sandbox/sandbox.js';

/** Prometheus's default scrape_timeout. */
const SCRAPE_TIMEOUT_S = 10;
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-flood');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

const tripBody = JSON.stringify({
  version: '4', groupKey: '{}:{alertname="FloodTrip"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
  groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
  alerts: [{ status: 'firing', labels: { alertname: 'FloodTrip', ess_trip: 'true' }, annotations: {},
    startsAt: '2026-12-06T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint: 'flood1' }],
});

// One line per request: "CODE SECONDS". The flood starts as nobody and is killed at the end.
const floodScript = `
  setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/node /opt/quantum-ess-src/bench/idle-flood.mjs \\
    --port 10170 --connections 2000 --pipeline 16 --reopen > /tmp/flood.out 2>&1 &
  for i in $(seq 300); do [ -s /tmp/flood.out ] && break; sleep 0.1; done
  head -c 200 /tmp/flood.out >&2
  for i in $(seq 24); do
    curl -s -o /dev/null -m ${SCRAPE_TIMEOUT_S} -w '%{http_code} %{time_total}\\n' http://127.0.0.1:10170/metrics
  done
  curl -s -o /dev/null -m ${SCRAPE_TIMEOUT_S} -w '%{http_code} %{time_total}\\n' \\
    -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" -H 'Content-Type: application/json' \\
    --data-binary '${tripBody}' http://127.0.0.1:10170/alertmanager
  for i in $(seq 100); do test -e /var/lib/quantum-ess/state.json && break; sleep 0.05; done
  pkill -KILL -u nobody -f idle-flood.mjs || true
`;

describe('the listener on real systemd under non-reading clients', () => {
  it('answers every scrape within the scrape timeout and latches a trip while 2,000 connections pipeline and never read', { timeout: 180_000 }, async () => {
    // the accept queue is the socket unit's Backlog=, not cut to Node's default (511) by the exporter
    expect((await box.run('ss', '-Hltn', 'sport = :10170')).stdout).toMatch(/^LISTEN\s+\d+\s+4096\s/);
    const r = await box.sh(floodScript);
    const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
    const scrapes = lines.slice(0, 24);
    const trip = lines[24];
    console.log(`flood: ${r.stderr.trim()}\nscrapes (code seconds): ${scrapes.map((s) => s.join('/')).join(' ')}\ntrip: ${trip?.join('/')}`);
    expect(scrapes.filter(([code]) => code === '200'), r.stdout).toHaveLength(24);
    expect(trip?.[0]).toBe('200');
    expect(await box.exists(FLAG)).toBe(true);
    expect(Object.values(await box.waitFor(TRADING, ['inactive', 'failed'])).every((s) => s !== 'active')).toBe(true);
    expect((await box.stateJson()).last_activation).toMatchObject({ source: 'alertmanager' });
  });
});
