import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bodyShapeProblem, Slots } from '../../../src/webhook/body-gate.js';
import { samplePayload, sampleAlert } from './fixtures.js';
import { startWebhookHarness, TOKEN } from './webhook-harness.js';

const bytes = (text: string): Buffer => Buffer.from(text);

describe('bodyShapeProblem', () => {
  it('passes Alertmanager payloads, large groups included', () => {
    const alerts = Array.from({ length: 1000 }, (_, i) => sampleAlert(`A${i}`, `f${i}`));
    expect(bodyShapeProblem(bytes(JSON.stringify(samplePayload('A', 'f', alerts))))).toBeNull();
  });

  it('refuses a deep nesting, too many alerts and too many values before anything is parsed', () => {
    expect(bodyShapeProblem(bytes('['.repeat(17) + ']'.repeat(17)))).toMatch(/nested deeper than 16/);
    expect(bodyShapeProblem(bytes(`{"alerts":[${'{},'.repeat(2000)}{}]}`))).toMatch(/more than 2000 alerts/);
    expect(bodyShapeProblem(bytes(`{"x":[${'1,'.repeat(100_001)}1]}`))).toMatch(/more than 100000 members/);
  });

  it('ignores brackets, commas and escaped quotes inside strings', () => {
    expect(bodyShapeProblem(bytes(JSON.stringify({ a: `\\"${'[{,'.repeat(200_000)}` })))).toBeNull();
  });
});

describe('Slots', () => {
  it('lets size holders in and the others in arrival order', async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    await slots.acquire();
    await slots.acquire();
    const third = slots.acquire().then(() => order.push(3));
    const fourth = slots.acquire().then(() => order.push(4));
    expect(slots.waitingCount()).toBe(2);
    slots.release();
    slots.release();
    await Promise.all([third, fourth]);
    expect(order).toEqual([3, 4]);
  });
});

describe('POST /alertmanager with hostile bodies', () => {
  it('answers 400 to 16 concurrent maximum-size hostile bodies without parsing them, then trips', async () => {
    const h = await startWebhookHarness();
    try {
      const limit = h.exporter.config.webhook.bodyLimitBytes;
      const hostile = Buffer.from(`{"version":"4","alerts":[${'1,'.repeat((limit - 40) / 2)}1]}`);
      expect(hostile.length).toBeLessThanOrEqual(limit);
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 16 }, () => h.post(hostile)));
      expect(answers.map((a) => a.status)).toEqual(Array(16).fill(400));
      expect(answers[0]?.json()).toMatchObject({ error: 'invalid payload', details: [expect.stringMatching(/members and elements/)] });
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await h.post(samplePayload('A', 'f1'))).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('POST /alertmanager behind slow bodies', () => {
  it('trips at once while a token holder trickles large and small bodies, and drops the slow large ones', async () => {
    const h = await startWebhookHarness();
    const tricklers: Socket[] = [];
    try {
      const trickle = (length: number): Socket => {
        const socket = connect({ host: h.server.address.host, port: h.server.address.port }, () => {
          socket.write(
            `POST /alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{`,
          );
        });
        socket.on('error', () => {});
        const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(' ')), 200);
        tricklers.push(socket);
        return socket;
      };
      const large = [trickle(900_000), trickle(900_000), trickle(900_000)];
      for (let i = 0; i < 8; i++) trickle(2_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      const trip = await h.post(samplePayload('BehindSlowBodies', 'slow1'));
      const waited = Date.now() - started;
      expect(trip.status).toBe(200);
      // it used to wait for a slot until the slow bodies' request timeout (10 s)
      expect(waited).toBeLessThan(2_000);
      expect(await h.spoolEntries('incoming')).toHaveLength(1);
      // the large ones held slots, too slowly: dropped after about the grace period
      for (let i = 0; i < 50 && large.some((socket) => !socket.destroyed); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(large.filter((socket) => socket.destroyed).length).toBeGreaterThanOrEqual(2);
      expect(h.logs.some((line) => line.includes('slow body dropped'))).toBe(true);
    } finally {
      for (const socket of tricklers) socket.destroy();
      await h.close();
    }
  });
});
