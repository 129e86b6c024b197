import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseExporterSettings } from '../../../src/config/exporter-config.js';
import { loadExporterConfig } from '../../../src/load-config.js';
import { isLoopbackHost } from '../../../src/config/listen-address.js';
import { createFakeHost, type FakeHost } from '../helpers.js';

const FILE = '/etc/quantum/ess-exporter.json';

describe('webhook settings', () => {
  let fakeHost: FakeHost;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
  });
  afterEach(() => fakeHost.cleanup());

  it('defaults: no token file, 1 MiB, not dry run, trip on ess_trip="true"', async () => {
    const { webhook } = await fakeHost.config();
    expect(webhook.token).toBeNull();
    expect(webhook.tokenFile).toBeNull();
    expect(webhook.bodyLimitBytes).toBe(1024 * 1024);
    expect(webhook.dryRun).toBe(false);
    expect(JSON.stringify(webhook.tripRules)).toBe('[["ess_trip=\\"true\\""]]');
  });

  it('reads the token once, trimmed like Alertmanager does, and never shows it', async () => {
    const tokenFile = join(fakeHost.dir, 'token');
    await writeFile(tokenFile, '  s3cr3t-token\n\n');
    const config = await fakeHost.config({ webhook_token_file: tokenFile });
    expect(config.webhook.token?.matches('s3cr3t-token')).toBe(true);
    expect(config.webhook.token?.matches('s3cr3t-token\n')).toBe(false);
    expect(JSON.stringify(config)).not.toContain('s3cr3t');
    expect(JSON.stringify(config.webhook)).toContain('"token":"(secret)"');
  });

  it.each([
    ['empty', '\n', 'is empty'],
    ['blank inside', 'two words\n', 'must hold one token of printable ASCII without blanks'],
  ])('refuses a token file that is %s', async (_what, content, message) => {
    const tokenFile = join(fakeHost.dir, 'token');
    await writeFile(tokenFile, content);
    await expect(fakeHost.config({ webhook_token_file: tokenFile })).rejects.toThrow(
      `config error in ${fakeHost.configFile}: webhook_token_file: ${tokenFile} ${message}`,
    );
  });

  it('refuses a token file it cannot read, keeping the cause', async () => {
    const error = await fakeHost.config({ webhook_token_file: join(fakeHost.dir, 'missing') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/webhook_token_file: .*missing cannot be read/);
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
  });

  it('requires a token file unless it listens on loopback', async () => {
    await expect(fakeHost.config({ listen: '0.0.0.0:0' })).rejects.toThrow(
      /webhook_token_file: required: listen 0\.0\.0\.0:0 is not a loopback address/,
    );
    await expect(fakeHost.config({ listen: '[::]:0' })).rejects.toThrow(/webhook_token_file: required/);
    await fakeHost.config();
    await expect(loadExporterConfig(fakeHost.configFile, true, { listen: '192.0.2.1:10170' })).rejects.toThrow(/webhook_token_file: required/);
    const tokenFile = join(fakeHost.dir, 'token');
    await writeFile(tokenFile, 'abc\n');
    const plain = { listen: '0.0.0.0:0', webhook_token_file: tokenFile, allow_plain_http_token: true };
    expect((await fakeHost.config(plain)).webhook.token).not.toBeNull();
    // a name binds wherever the hosts file points: judged as not loopback
    await expect(fakeHost.config({ listen: 'localhost:0' })).rejects.toThrow(/webhook_token_file: required: listen localhost:0 is not a loopback address/);
  });

  it.each([
    [{ trip_rules: [['ess_trip="true"'], ['alertname=~"("']] }, 'trip_rules[1][0]: invalid regex "("'],
    [{ trip_rules: [['a="b"', 'nonsense']] }, 'trip_rules[0][1]: "nonsense" is not a matcher'],
    [{ trip_rules: [[]] }, 'trip_rules[0]: [] is not a non-empty list of matchers (an empty rule would trip on every alert)'],
    [{ trip_rules: [['a="b"'], ['c="d"', 7]] }, 'trip_rules[1][1]: 7 is not a matcher string'],
    [{ trip_rules: 'ess_trip="true"' }, 'trip_rules: "ess_trip=\\"true\\"" is not a non-empty list of rules'],
    [{ trip_rules: [] }, 'trip_rules: [] is not a non-empty list of rules, each a list of matchers (to trip nothing, set webhook_dry_run)'],
    [{ webhook_body_limit_bytes: 10 }, 'webhook_body_limit_bytes: 10 is not a whole number of bytes'],
    [{ webhook_body_limit_bytes: 4096.5 }, 'webhook_body_limit_bytes:'],
    [{ webhook_dry_run: 'yes' }, 'webhook_dry_run: "yes" is not true or false'],
    [{ webhook_token_file: 'token' }, 'webhook_token_file: "token" is not an absolute path'],
  ])('refuses %j naming the key', (settings, message) => {
    expect(() => parseExporterSettings(settings, FILE)).toThrow(`config error in ${FILE}: ${message}`);
  });

  it('accepts the example config shipped in deploy/', async () => {
    const example = JSON.parse(await readFile(join(import.meta.dirname, '../../../deploy/ess-exporter.json'), 'utf8')) as unknown;
    const settings = parseExporterSettings(example, FILE);
    expect(settings.webhook_token_file).toBe('/etc/quantum/ess-webhook.token');
    expect(settings.trip_rules).toEqual([['ess_trip="true"']]);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', false],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['trading-01', false],
  ])('%s -> %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
