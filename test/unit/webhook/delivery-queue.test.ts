import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../../src/webhook/delivery-queue.js';

const KIB = 1024;

describe('DeliveryQueue', () => {
  it('runs one delivery at a time, a small one ahead of bulky ones that came before it', async () => {
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const queue = new DeliveryQueue();
    const job = (name: string) => async (): Promise<void> => {
      running += 1;
      most = Math.max(most, running);
      order.push(name);
      await nextTurn();
      running -= 1;
    };
    const done = [
      queue.run(60 * KIB, () => false, job('bulk-1')),
      queue.run(60 * KIB, () => false, job('bulk-2')),
      queue.run(60 * KIB, () => false, job('bulk-3')),
      queue.run(1 * KIB, () => false, job('trip')),
    ];
    expect(queue.length).toBe(3);
    expect(await Promise.all(done)).toEqual([true, true, true, true]);
    // bulk-1 was already running when the others arrived
    expect(order).toEqual(['bulk-1', 'trip', 'bulk-2', 'bulk-3']);
    expect(most).toBe(1);
  });

  it('orders a lane by arrival plus size delay: a larger one first once it waited that much longer', async () => {
    let now = 0;
    const order: string[] = [];
    const queue = new DeliveryQueue({ now: () => now, sizeDelayMsPerKib: 16, maxSizeDelayMs: 4000 });
    let unblock = (): void => {};
    const blocker = queue.run(0, () => false, () => new Promise<void>((resolve) => (unblock = resolve)));
    const larger = queue.run(15 * KIB, () => false, async () => void order.push('15 KiB'));
    now = 241; // later than the larger one's place (0 + 15 x 16 ms)
    const smaller = queue.run(0, () => false, async () => void order.push('0 KiB'));
    unblock();
    await Promise.all([blocker, larger, smaller]);
    expect(order).toEqual(['15 KiB', '0 KiB']);
  });

  it('never starves bulky deliveries: one every fourth turn while small ones keep coming', async () => {
    const order: string[] = [];
    const queue = new DeliveryQueue();
    let unblock = (): void => {};
    const done = [queue.run(0, () => false, () => new Promise<void>((resolve) => (unblock = resolve)))];
    for (let i = 0; i < 2; i++) done.push(queue.run(60 * KIB, () => false, async () => void order.push('bulk')));
    for (let i = 0; i < 8; i++) done.push(queue.run(KIB, () => false, async () => void order.push('small')));
    unblock();
    await Promise.all(done);
    expect(order).toEqual(['small', 'small', 'small', 'bulk', 'small', 'small', 'small', 'bulk', 'small', 'small']);
  });

  it('drops a delivery whose client is gone before its turn, unrun, and counts it', async () => {
    let shed = 0;
    const waits: number[] = [];
    const queue = new DeliveryQueue({ onShed: () => (shed += 1), onStart: (waited) => waits.push(waited) });
    let ran = 0;
    let unblock = (): void => {};
    const first = queue.run(0, () => false, () => new Promise<void>((resolve) => (unblock = resolve)));
    let gone = false;
    const second = queue.run(0, () => gone, async () => void (ran += 1));
    const third = queue.run(0, () => false, async () => void (ran += 1));
    gone = true;
    unblock();
    expect(await Promise.all([first, second, third])).toEqual([true, false, true]);
    expect(ran).toBe(1);
    expect(shed).toBe(1);
    expect(waits).toHaveLength(2);
  });

  it('lets the next delivery run when one waits on I/O longer than maxHoldMs', async () => {
    const queue = new DeliveryQueue({ maxHoldMs: 20 });
    const stuck = queue.run(0, () => false, () => new Promise<void>(() => {}));
    const next = queue.run(0, () => false, async () => {});
    expect(await stuck).toBe(true);
    expect(await next).toBe(true);
  });

  it('lets the event loop turn between deliveries once a turn used its budget', async () => {
    const queue = new DeliveryQueue({ turnBudgetMs: 5 });
    let turns = 0;
    const ticker = setInterval(() => (turns += 1), 0);
    const busy = async (): Promise<void> => {
      const until = performance.now() + 6;
      while (performance.now() < until);
    };
    await Promise.all(Array.from({ length: 5 }, () => queue.run(0, () => false, busy)));
    clearInterval(ticker);
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
