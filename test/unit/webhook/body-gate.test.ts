import { describe, expect, it } from 'vitest';
import { bodyShapeProblem, Slots } from '../../../src/webhook/body-gate.js';
import { samplePayload, sampleAlert } from './fixtures.js';
import { startWebhookHarness } from './webhook-harness.js';

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
