// Clients that never read their answers must not starve the listener: 2,000 connections from a local
// user, each pipelining GET /metrics and reading nothing, while Prometheus scrapes and Alertmanager
// POSTs a trip. The flood runs in a child process (bench/idle-flood.mjs --pipeline).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePayload } from './webhook/fixtures.js';
import { startWebhookHarness, type WebhookHarness } from './webhook/webhook-harness.js';

const FLOOD = new URL('../../bench/idle-flood.mjs', import.meta.url).pathname;

let h: WebhookHarness;
beforeAll(async () => {
  h = await startWebhookHarness();
});
afterAll(async () => {
  await h?.close();
});

async function startFlood(args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FLOOD, '--port', String(h.server.address.port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await once(lines, 'line');
  return child;
}

describe('non-reading clients', () => {
  it('leave every scrape and a trip POST answered while 2,000 connections pipeline GET /metrics and never read', { timeout: 120_000 }, async () => {
    const flood = await startFlood(['--connections', '2000', '--pipeline', '16', '--reopen']);
    try {
      const scrapes = [];
      for (let i = 0; i < 24; i += 1) {
        scrapes.push(await h.get('/metrics').then((r) => r.status, (e: Error) => e.message));
      }
      const trip = await h.post(samplePayload('StarvedTrip', 'starve1')).then((r) => r.status, () => 0);
      console.log(JSON.stringify(h.server.guard.actions), `scrapes: ${scrapes.join(",")}; trip ${trip}`);
      expect(scrapes.filter((s) => s === 200)).toHaveLength(24);
      expect(trip).toBe(200);
      expect(await h.spoolEntries('incoming')).toHaveLength(1);
    } finally {
      flood.kill('SIGKILL');
    }
  });
});
