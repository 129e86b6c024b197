// 30,000 idle connections from a local user must not keep a trip POST from Alertmanager or a scrape out.
// The flood runs in child processes (bench/idle-flood.mjs), each within its own descriptor limit, and
// goes on from this process while the POST and the scrape come in.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_LIMITS } from '../../src/http/server.js';
import { samplePayload } from './webhook/fixtures.js';
import { startWebhookHarness, type WebhookHarness } from './webhook/webhook-harness.js';

const FLOOD = new URL('../../bench/idle-flood.mjs', import.meta.url).pathname;
const PROCESSES = 3;
const PER_PROCESS = 10_000;

let h: WebhookHarness;
beforeAll(async () => {
  h = await startWebhookHarness();
});
afterAll(async () => {
  await h?.close();
});

function open(): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: h.server.address.host, port: h.server.address.port });
    socket.on('error', () => resolve(null));
    // flowing, so that a close by the server is seen
    socket.once('connect', () => resolve(socket.resume()));
  });
}

interface FloodReport {
  opened: number;
  open: number;
  closedByServer: number;
  failed: number;
}

async function startFlood(): Promise<{ children: ChildProcess[]; ready: FloodReport[] }> {
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, [FLOOD, '--port', String(h.server.address.port), '--connections', String(PER_PROCESS)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const ready = await Promise.all(
    children.map(async (child) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const [line] = (await once(lines, 'line')) as [string];
      return JSON.parse(line) as FloodReport;
    }),
  );
  return { children, ready };
}

describe('connection limits', () => {
  it('keeps a trip POST and a scrape fast while a local user holds 30,000 idle connections', async () => {
    const { children, ready } = await startFlood();
    try {
      const opened = ready.reduce((sum, r) => sum + r.opened, 0);
      expect(opened).toBeGreaterThanOrEqual(PROCESSES * PER_PROCESS);
      let flooding = true;
      const flood = (async () => {
        while (flooding) {
          const batch = await Promise.all(Array.from({ length: 200 }, open));
          for (const socket of batch) socket?.on('error', () => {});
          await new Promise((resolve) => setTimeout(resolve, 5));
          for (const socket of batch) socket?.destroy();
        }
      })();
      const started = Date.now();
      const [trip, scrape] = await Promise.all([h.post(samplePayload('FloodTrip', 'flood1')), h.get('/metrics')]);
      const elapsed = Date.now() - started;
      flooding = false;
      await flood;
      console.log(`${opened} idle connections opened (${ready.map((r) => r.closedByServer).join('+')} evicted meanwhile); trip POST and scrape answered in ${elapsed} ms`);
      expect(trip.status).toBe(200);
      expect(scrape.status).toBe(200);
      // starved, they would wait for the 10 s request timeout; how fast is the bench's figure
      expect(elapsed).toBeLessThan(10_000);
      expect(await h.spoolEntries('incoming')).toHaveLength(1);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });

  it('drops a connection that never completes its request head', async () => {
    const socket = await open();
    expect(socket).not.toBeNull();
    socket?.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await new Promise((resolve) => socket?.once('close', resolve));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(HTTP_LIMITS.headersTimeoutMs - 500);
    expect(waited).toBeLessThan(HTTP_LIMITS.headersTimeoutMs + 2 * HTTP_LIMITS.checkIntervalMs + 1000);
  });
});
