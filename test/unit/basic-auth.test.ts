import * as bcrypt from 'bcryptjs';
import { describe, expect, it, vi } from 'vitest';
import { BasicAuth } from '../../src/http/basic-auth.js';

// counts the bcrypt comparisons the cache saves
vi.mock('bcryptjs', async (original) => {
  const actual = await original<typeof import('bcryptjs')>();
  return { ...actual, compare: vi.fn(actual.compare) };
});

const header = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic authentication', () => {
  it('pays bcrypt once per user and password, not at every scrape', async () => {
    const compare = vi.mocked(bcrypt.compare);
    const auth = new BasicAuth(new Map([['prometheus', bcrypt.hashSync('pw', 4)]]));
    compare.mockClear();
    for (let scrape = 0; scrape < 5; scrape++) expect(await auth.allows(header('prometheus', 'pw'))).toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);
    for (let scrape = 0; scrape < 3; scrape++) expect(await auth.allows(header('prometheus', 'guess'))).toBe(false);
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('refuses an unknown user after a comparison as costly as a known one, and malformed headers', async () => {
    const compare = vi.mocked(bcrypt.compare);
    const auth = new BasicAuth(new Map([['prometheus', bcrypt.hashSync('pw', 4)]]));
    compare.mockClear();
    expect(await auth.allows(header('root', 'pw'))).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
    for (const malformed of [undefined, '', 'Bearer abc', 'Basic', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      expect(await auth.allows(malformed)).toBe(false);
    }
    expect(await auth.allows(header('prometheus', 'pw').replace('Basic', 'basic'))).toBe(true);
  });
});
