import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnprivilegedSide } from '../../src/unprivileged-side.js';
import { type RunningServer, startServer } from '../../src/http/server.js';
import { createFakeHost, type FakeHost, sample, STATE_EXAMPLE, silentLog } from './helpers.js';

interface Response {
  status: number;
  type: string;
  body: string;
}

function get(server: RunningServer, path: string, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request({ host: server.address.host, port: server.address.port, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP server', () => {
  let fakeHost: FakeHost;
  let exporter: UnprivilegedSide;
  let server: RunningServer;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    await writeFile(fakeHost.stateFile, JSON.stringify(STATE_EXAMPLE));
    const config = await fakeHost.config({ dbus_timeout_seconds: 0.3 });
    // the spool as installed: the exporter's health includes a trip path with its reserve ready
    for (const dir of ['tmp', 'incoming']) await mkdir(join(config.ess.spoolDir, dir), { recursive: true, mode: 0o1730 });
    await mkdir(join(config.ess.spoolDir, 'reserve'), { mode: 0o700 });
    exporter = new UnprivilegedSide(config, { version: '1.2.3', nodejsVersion: process.version }, silentLog, fakeHost.hostPaths);
    await exporter.start();
    await exporter.webhook.fillReserve();
    server = await startServer(exporter.served(), config.listen, '1.2.3');
  });
  afterEach(async () => {
    await server.close(100);
    await exporter.close();
    await fakeHost.cleanup();
  });

  it('listens on an ephemeral loopback port', () => {
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
  });

  it('serves the landing page with links', async () => {
    const res = await get(server, '/');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(res.body).toContain('href="metrics"');
    expect(res.body).toContain('href="healthz"');
    expect(res.body).toContain('1.2.3');
  });

  it('serves the metrics at --web.telemetry-path instead, and links to them', async () => {
    const moved = await startServer({ ...exporter.served(), telemetryPath: '/ess/metrics' }, { host: '127.0.0.1', port: 0 }, '1.2.3');
    try {
      const res = await get(moved, '/ess/metrics');
      expect(res.status).toBe(200);
      expect(sample(res.body, 'ess_active')).toBe(0);
      expect((await get(moved, '/ess/metrics?x=1')).status).toBe(200);
      expect((await get(moved, '/ess/metrics', 'HEAD')).status).toBe(200);
      expect((await get(moved, '/metrics')).status).toBe(404);
      expect((await get(moved, '/')).body).toContain('href="ess/metrics"');
    } finally {
      await moved.close(100);
    }
    await expect(fakeHost.config({}, { telemetryPath: 'metrics' })).rejects.toThrow('--web.telemetry-path: "metrics" is not a path');
    await expect(fakeHost.config({}, { telemetryPath: '/healthz' })).rejects.toThrow('--web.telemetry-path: /healthz is already served');
    expect((await fakeHost.config({}, { telemetryPath: '/ess/metrics' })).telemetryPath).toBe('/ess/metrics');
  });

  it('serves /metrics in the Prometheus text format, fresh at every scrape', async () => {
    const res = await get(server, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(res.body, 'ess_active')).toBe(0);
    expect(sample(res.body, 'ess_activations_total{source="cli"}')).toBe(4);
    await writeFile(fakeHost.flagFile, '');
    expect(sample((await get(server, '/metrics')).body, 'ess_active')).toBe(1);
  });

  it('answers /healthz 200 while reads work and 503 with the failing source while they do not', async () => {
    const healthy = await get(server, '/healthz');
    expect(healthy.status).toBe(200);
    const allOk = { flag: { ok: true }, state: { ok: true }, systemd: { ok: true }, asserts: { ok: true }, cgroup: { ok: true }, markers: { ok: true }, drill: { ok: true } };
    expect(JSON.parse(healthy.body)).toMatchObject({ status: 'ok', reads: allOk });

    // a hung systemd: the exporter's next ping goes unanswered
    fakeHost.setSystemdBehaviour('hang');
    await exporter.unitStates.settled();
    const started = Date.now();
    const failing = await get(server, '/healthz');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(failing.status).toBe(503);
    const body = JSON.parse(failing.body) as { status: string; reads: Record<string, { ok: boolean; errors: number; last_error: string }> };
    expect(body.status).toBe('failing');
    expect(body.reads.systemd).toMatchObject({ ok: false, errors: 1 });
    expect(body.reads.systemd?.last_error).toMatch(/systemd does not answer on the bus: .*no answer within 300 ms/);

    // the scrape itself still answers, with the last known unit states
    const metrics = await get(server, '/metrics');
    expect(metrics.status).toBe(200);
    expect(sample(metrics.body, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
    expect(sample(metrics.body, 'ess_unit_state{unit="redis-server.service",role="monitor",state="active"}')).toBe(1);
  });

  it('answers 404 for unknown paths and methods', async () => {
    expect((await get(server, '/nope')).status).toBe(404);
    expect((await get(server, '/metrics', 'POST')).status).toBe(404);
  });

  it('lets scrapes in flight finish when it closes', async () => {
    // each scrape held in its handler for 0.3 s: the listener closes while all ten are in flight
    await server.close(100);
    const served = exporter.served();
    let entered = 0;
    const slow = { ...served, renderMetrics: async () => {
      entered += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return served.renderMetrics();
    } };
    server = await startServer(slow, exporter.config.listen, '1.2.3');
    const inFlight = Array.from({ length: 10 }, () => get(server, '/metrics'));
    // in the handler for sure once one entered; the rest were sent on loopback at the same time
    while (entered === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close(2000);
    const results = await Promise.allSettled(inFlight);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.status : r.reason))).toEqual(Array(10).fill(200));
    server = { ...server, close: () => Promise.resolve() };
  });
});
