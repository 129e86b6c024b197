import { describe, expect, it } from 'vitest';
import { TripLedger } from '../../../src/webhook/trip-ledger.js';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('TripLedger', () => {
  it('runs a write once per key and reports the rest as duplicates', async () => {
    const ledger = new TripLedger({ maxEntries: 10, ttlMs: 1000 });
    let writes = 0;
    const write = async () => ++writes;
    expect(await ledger.once('a', write)).toEqual({ duplicate: false, value: 1 });
    expect(await ledger.once('a', write)).toEqual({ duplicate: true });
    expect(await ledger.once('b', write)).toEqual({ duplicate: false, value: 2 });
    expect(writes).toBe(2);
  });

  it('records nothing when the write fails, so the retry writes', async () => {
    const ledger = new TripLedger({ maxEntries: 10, ttlMs: 1000 });
    await expect(ledger.once('a', () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(ledger.has('a')).toBe(false);
    expect(await ledger.once('a', async () => 'ok')).toEqual({ duplicate: false, value: 'ok' });
  });

  it('makes concurrent deliveries wait for the write in progress instead of writing again', async () => {
    const ledger = new TripLedger({ maxEntries: 10, ttlMs: 1000 });
    let writes = 0;
    const slowWrite = () => new Promise<number>((resolve) => setTimeout(() => resolve(++writes), 20));
    const outcomes = await Promise.all([ledger.once('a', slowWrite), ledger.once('a', slowWrite), ledger.once('a', slowWrite)]);
    expect(writes).toBe(1);
    expect(outcomes.filter((o) => o.duplicate)).toHaveLength(2);
  });

  it('lets exactly one waiter retry after the write in progress failed', async () => {
    const ledger = new TripLedger({ maxEntries: 10, ttlMs: 1000 });
    let attempts = 0;
    const flaky = () =>
      new Promise<number>((resolve, reject) =>
        setTimeout(() => (++attempts === 1 ? reject(new Error('EIO')) : resolve(attempts)), 10),
      );
    const outcomes = await Promise.allSettled([ledger.once('a', flaky), ledger.once('a', flaky), ledger.once('a', flaky)]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? 'failed' : o.value.duplicate ? 'duplicate' : 'written'))).toEqual([
      'failed',
      'written',
      'duplicate',
    ]);
    expect(attempts).toBe(2);
  });

  it('forgets keys after the ttl and the oldest keys beyond maxEntries', async () => {
    const time = clock();
    const ledger = new TripLedger({ maxEntries: 3, ttlMs: 1000, now: time.now });
    const write = async () => undefined;
    for (const key of ['a', 'b', 'c', 'd']) await ledger.once(key, write);
    expect(ledger.size).toBe(3);
    expect(ledger.has('a')).toBe(false);
    expect(ledger.has('d')).toBe(true);
    time.advance(999);
    expect(ledger.has('b')).toBe(true);
    time.advance(1);
    expect(ledger.has('b')).toBe(false);
    await ledger.once('e', write);
    expect(ledger.size).toBe(1);
  });
});
