import { describe, expect, it, vi } from 'vitest';
import { RejectionLog } from '../../../src/webhook/rejection-log.js';

describe('RejectionLog', () => {
  it('logs at most `limit` rejections per window, then says how many it left out', () => {
    const lines: string[] = [];
    let now = 0;
    const rejections = new RejectionLog((line) => lines.push(line), 3, 1000, () => now);
    for (let i = 0; i < 10; i += 1) rejections.reject(`webhook: 401 #${i}`);
    expect(lines).toEqual(['webhook: 401 #0', 'webhook: 401 #1', 'webhook: 401 #2']);
    now = 1000;
    rejections.reject('webhook: 401 next window');
    expect(lines.slice(3)).toEqual([
      'webhook: 7 more rejected requests were not logged (see ess_webhook_requests_total)',
      'webhook: 401 next window',
    ]);
  });

  it('says what it left out in its own words (alerts for other hosts)', () => {
    const lines: string[] = [];
    let now = 0;
    const others = new RejectionLog((line) => lines.push(line), 2, 1000, () => now, 'alerts scoped to other hosts were not logged');
    for (let i = 0; i < 250; i += 1) others.reject(`webhook: info: alert #${i}`);
    now = 1000;
    others.reject('webhook: info: alert next');
    expect(lines).toEqual(['webhook: info: alert #0', 'webhook: info: alert #1', 'webhook: 248 more alerts scoped to other hosts were not logged', 'webhook: info: alert next']);
  });
});

describe('RejectionLog when the flood stops', () => {
  it('says how many it left out once the window is over, with nothing logged after', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const quiet = new RejectionLog((line) => lines.push(line), 2, 60_000, Date.now, 'deliveries that tripped nothing here were not logged');
      for (let i = 0; i < 5; i += 1) quiet.reject(`webhook: 200 #${i}`);
      vi.advanceTimersByTime(59_000);
      expect(lines).toHaveLength(2);
      vi.advanceTimersByTime(1_000);
      expect(lines).toEqual(['webhook: 200 #0', 'webhook: 200 #1', 'webhook: 3 more deliveries that tripped nothing here were not logged']);
      quiet.reject('webhook: 200 next');
      expect(lines.at(-1)).toBe('webhook: 200 next');
    } finally {
      vi.useRealTimers();
    }
  });
});
