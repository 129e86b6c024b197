import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseExporterSettings } from '../../src/config/exporter-config.js';
import { loadExporterConfig } from '../../src/load-config.js';
import { createFakeHost, type FakeHost } from './helpers.js';
import { type CertPair, makeCert } from './tls-certs.js';

const FILE = '/etc/quantum/ess-exporter.json';

describe('fleet identity and transport settings', () => {
  let fakeHost: FakeHost;
  let pair: CertPair;
  let other: CertPair;
  let tokenFile: string;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    [pair, other] = await Promise.all([makeCert(fakeHost.dir, 'one'), makeCert(fakeHost.dir, 'two')]);
    tokenFile = join(fakeHost.dir, 'token');
    await writeFile(tokenFile, 'abc\n');
  });
  afterEach(() => fakeHost.cleanup());

  it('defaults: the machine host name when it is a valid one, no groups, plain HTTP, no clear-text token', async () => {
    const config = await fakeHost.config();
    if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(hostname())) expect(config.webhook.identity.host).toBe(hostname());
    expect(config.webhook.identity.groups).toEqual([]);
    expect(config.web.tls).toBeNull();
    expect(config.allowPlainHttpToken).toBe(false);
  });

  it('takes host and groups as configured', async () => {
    const config = await fakeHost.config({ host: 'trade-eu-01.dc2', groups: ['exec', 'eu_1'] });
    expect(config.webhook.identity).toEqual({ host: 'trade-eu-01.dc2', groups: ['exec', 'eu_1'] });
  });

  it.each([
    [{ host: '' }, 'host: "" is not a host name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})'],
    [{ host: '-h1' }, 'host: "-h1" is not a host name'],
    [{ host: 'h'.repeat(64) }, 'host: "hhhh'],
    [{ host: 'h 1' }, 'host: "h 1" is not a host name'],
    [{ host: null }, 'host: null is not a host name'],
    [{ groups: 'exec' }, 'groups: "exec" is not a list of distinct group names (at most 64)'],
    [{ groups: ['exec', 'exec'] }, 'groups: ["exec","exec"] is not a list of distinct group names (at most 64)'],
    [{ groups: ['ok', 'a,b'] }, 'groups[1]: "a,b" is not a group name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})'],
    [{ groups: [1] }, 'groups[0]: 1 is not a group name'],
    [{ tls_cert_file: 'cert.pem' }, 'tls_cert_file: "cert.pem" is not an absolute path'],
    [{ tls_key_file: 7 }, 'tls_key_file: 7 is not an absolute path'],
    [{ allow_plain_http_token: 'yes' }, 'allow_plain_http_token: "yes" is not true or false'],
    [{ hosts: ['h1'] }, 'hosts: unknown key'],
  ])('refuses %j naming the key', (settings, message) => {
    expect(() => parseExporterSettings(settings, FILE)).toThrow(`config error in ${FILE}: ${message}`);
  });

  it('wants both TLS files or neither', async () => {
    await expect(fakeHost.config({ tls_cert_file: pair.certFile })).rejects.toThrow(
      /: tls_key_file: required: tls_cert_file and tls_key_file are set together or not at all/,
    );
    await expect(fakeHost.config({ tls_key_file: pair.keyFile })).rejects.toThrow(/: tls_cert_file: required: /);
  });

  it('reads and checks the pair at start-up, naming the file at fault', async () => {
    const config = await fakeHost.config({ tls_cert_file: pair.certFile, tls_key_file: pair.keyFile });
    expect(config.web.tls).toMatchObject({ cert: { key: 'tls_cert_file', file: pair.certFile }, key: { key: 'tls_key_file', file: pair.keyFile } });
    expect(config.deprecations).toContainEqual(expect.stringMatching(/tls_cert_file and tls_key_file are deprecated .* --web\.config\.file/));
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');

    await expect(fakeHost.config({ tls_cert_file: pair.certFile, tls_key_file: other.keyFile })).rejects.toThrow(
      new RegExp(`: tls_key_file: ${other.keyFile} is not an unencrypted PEM private key matching ${pair.certFile}`),
    );
    await expect(fakeHost.config({ tls_cert_file: pair.keyFile, tls_key_file: pair.keyFile })).rejects.toThrow(
      new RegExp(`: tls_cert_file: ${pair.keyFile} holds no PEM certificate`),
    );
    const missing = await fakeHost.config({ tls_cert_file: join(fakeHost.dir, 'nope.crt'), tls_key_file: pair.keyFile }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect(String(missing)).toMatch(/: tls_cert_file: .*nope\.crt cannot be read/);
    expect((missing as Error).cause).toBeDefined();
    const empty = join(fakeHost.dir, 'empty.key');
    await writeFile(empty, '');
    await expect(fakeHost.config({ tls_cert_file: pair.certFile, tls_key_file: empty })).rejects.toThrow(/: tls_key_file: .*empty\.key is empty/);
  });

  it('keeps the deprecated pair as the TLS of a --web.config.file that has none, and refuses both', async () => {
    const webConfigFile = join(fakeHost.dir, 'web-config.yml');
    await writeFile(webConfigFile, `# shipped empty\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`);
    const legacy = { tls_cert_file: pair.certFile, tls_key_file: pair.keyFile };
    const merged = await fakeHost.config(legacy, { webConfigFile });
    expect(merged.web).toMatchObject({ file: webConfigFile, reloadable: true, headers: { 'X-Frame-Options': 'deny' }, tls: { cert: { file: pair.certFile } } });
    await writeFile(webConfigFile, `tls_server_config:\n  cert_file: ${other.certFile}\n  key_file: ${other.keyFile}\n`);
    await expect(fakeHost.config(legacy, { webConfigFile })).rejects.toThrow(
      new RegExp(`: tls_cert_file: set, and --web.config.file ${webConfigFile} has tls_server_config: keep the TLS settings there only`),
    );
    expect((await fakeHost.config({}, { webConfigFile })).web.tls).toMatchObject({ cert: { key: 'tls_server_config.cert_file', file: other.certFile } });
    // a key file that cannot be read stops the start, naming the web config and its key
    await writeFile(webConfigFile, `tls_server_config:\n  cert_file: ${other.certFile}\n  key_file: missing.key\n`);
    await expect(fakeHost.config({}, { webConfigFile })).rejects.toThrow(
      new RegExp(`config error in ${webConfigFile}: tls_server_config.key_file: ${join(fakeHost.dir, 'missing.key')} cannot be read`),
    );
    await expect(fakeHost.config({}, { webConfigFile: join(fakeHost.dir, 'none.yml') })).rejects.toThrow(/none\.yml: file: cannot be read/);
  });

  it('refuses a clear-text token off loopback, naming the keys that fix it', async () => {
    const message =
      /: tls_cert_file: required with tls_key_file: listen 0\.0\.0\.0:0 is not a loopback address and webhook_token_file is set, .*clear text.*allow_plain_http_token: true/;
    await expect(fakeHost.config({ listen: '0.0.0.0:0', webhook_token_file: tokenFile })).rejects.toThrow(message);
    await fakeHost.config({ webhook_token_file: tokenFile });
    await expect(loadExporterConfig(fakeHost.configFile, true, { listen: '192.0.2.1:10170' })).rejects.toThrow(
      /tls_cert_file: required with tls_key_file: --listen 192\.0\.2\.1:10170 is not a loopback address/,
    );
  });

  it('accepts a token off loopback over HTTPS, or over plain HTTP when allowed explicitly', async () => {
    const https = await fakeHost.config({ listen: '0.0.0.0:0', webhook_token_file: tokenFile, tls_cert_file: pair.certFile, tls_key_file: pair.keyFile });
    expect(https.web.tls).not.toBeNull();
    const plain = await fakeHost.config({ listen: '[::]:0', webhook_token_file: tokenFile, allow_plain_http_token: true });
    expect(plain.allowPlainHttpToken).toBe(true);
    // on loopback nothing crosses the network: a token over plain HTTP is fine
    expect((await fakeHost.config({ listen: '127.0.0.1:0', webhook_token_file: tokenFile })).webhook.token).not.toBeNull();
    // TLS does not make a token optional off loopback
    await expect(fakeHost.config({ listen: '0.0.0.0:0', tls_cert_file: pair.certFile, tls_key_file: pair.keyFile })).rejects.toThrow(
      /webhook_token_file: required/,
    );
  });
});
