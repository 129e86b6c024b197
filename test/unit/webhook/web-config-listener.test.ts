import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSync } from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { sample } from '../helpers.js';
import { type CertPair, makeCert } from '../tls-certs.js';
import { samplePayload } from './fixtures.js';
import { startWebhookHarness, tlsTestState, TOKEN, type WebhookHarness } from './webhook-harness.js';

const t = tlsTestState();

// htpasswd -nBC writes $2y$ hashes; bcryptjs $2b$: the same algorithm
const hash = (password: string): string => hashSync(password, 4).replace(/^\$2b\$/, '$2y$');
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Certs {
  readonly dir: string;
  readonly server: CertPair;
  /** Self-signed: its own CA, as the client_ca_file. */
  readonly client: CertPair;
  /** A certificate no CA of the listener vouches for. */
  readonly stranger: CertPair;
}

async function makeCerts(): Promise<Certs> {
  const dir = await mkdtemp(join(tmpdir(), 'ess-web-config-'));
  t.certDir = dir;
  const [server, client, stranger] = await Promise.all([makeCert(dir, 'server'), makeCert(dir, 'client'), makeCert(dir, 'stranger')]);
  return { dir, server, client, stranger };
}

/** A web config as exporter-toolkit documents it: HTTPS, mutual TLS, one basic auth user. */
function documentedConfig(certs: Certs, clientAuth = 'RequireAndVerifyClientCert', users = `prometheus: ${hash('scrape-pw')}`): string {
  return [
    'tls_server_config:',
    `  cert_file: ${certs.server.certFile}`,
    `  key_file: ${certs.server.keyFile}`,
    `  client_auth_type: "${clientAuth}"`,
    `  client_ca_file: ${certs.client.certFile}`,
    '  min_version: "TLS12"',
    '  max_version: "TLS13"',
    'http_server_config:',
    '  headers:',
    '    X-Content-Type-Options: nosniff',
    'basic_auth_users:',
    `  ${users}`,
    '',
  ].join('\n');
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request on a new connection, presenting a client certificate or not; rejects when the listener refuses the connection. */
async function send(h: WebhookHarness, certs: Certs, options: { path?: string; method?: string; client?: CertPair; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const client = options.client === undefined ? {} : { cert: await readFile(options.client.certFile), key: await readFile(options.client.keyFile) };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.server.address.port,
        path: options.path ?? '/metrics',
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ca: [readFileSyncText(certs.server.certFile)],
        agent: false,
        timeout: 10_000,
        ...client,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

const serverCa = new Map<string, string>();
function readFileSyncText(file: string): string {
  const text = serverCa.get(file);
  if (text === undefined) throw new Error(`${file} not read yet`);
  return text;
}

async function start(certs: Certs, webConfig: string): Promise<WebhookHarness> {
  serverCa.set(certs.server.certFile, await readFile(certs.server.certFile, 'utf8'));
  t.harness = await startWebhookHarness({ webConfig, tlsReload: { settleMs: 100 } });
  return t.harness;
}

const trip = (id: string): string => JSON.stringify(samplePayload('Breach', id));
const webhookHeaders = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

describe('--web.config.file on real sockets: HTTPS, mutual TLS, basic authentication', () => {
  it('serves /metrics to a client with a certificate the CA vouches for and the right password, and no one else', async () => {
    const certs = await makeCerts();
    const h = await start(certs, documentedConfig(certs));
    expect(h.server.protocol).toBe('https');
    const ok = await send(h, certs, { client: certs.client, headers: { authorization: basic('prometheus', 'scrape-pw') } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('ess_build_info');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');

    const noPassword = await send(h, certs, { client: certs.client });
    expect(noPassword.status).toBe(401);
    expect(noPassword.headers['www-authenticate']).toBe('Basic');
    expect((await send(h, certs, { client: certs.client, headers: { authorization: basic('prometheus', 'wrong') } })).status).toBe(401);
    expect((await send(h, certs, { client: certs.client, headers: { authorization: basic('nobody', 'scrape-pw') } })).status).toBe(401);
    // the same answer twice: from the cache, and still right
    expect((await send(h, certs, { client: certs.client, headers: { authorization: basic('prometheus', 'wrong') } })).status).toBe(401);
    expect((await send(h, certs, { client: certs.client, headers: { authorization: basic('prometheus', 'scrape-pw') } })).status).toBe(200);
    // every path but the webhook's
    expect((await send(h, certs, { client: certs.client, path: '/healthz' })).status).toBe(401);

    await expect(send(h, certs, { headers: { authorization: basic('prometheus', 'scrape-pw') } })).rejects.toThrow();
    await expect(send(h, certs, { client: certs.stranger, headers: { authorization: basic('prometheus', 'scrape-pw') } })).rejects.toThrow();
  });

  it('keeps the webhook on its bearer token, behind the client certificate', async () => {
    const certs = await makeCerts();
    const h = await start(certs, documentedConfig(certs));
    const delivered = await send(h, certs, { client: certs.client, method: 'POST', path: '/alertmanager', headers: webhookHeaders, body: trip('m1') });
    expect(delivered.status).toBe(200);
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
    const withoutToken = await send(h, certs, { client: certs.client, method: 'POST', path: '/alertmanager', headers: { 'content-type': 'application/json' }, body: trip('m2') });
    expect(withoutToken.status).toBe(401);
    await expect(send(h, certs, { method: 'POST', path: '/alertmanager', headers: webhookHeaders, body: trip('m3') })).rejects.toThrow();
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
  });

  it('applies the other client certificate policies: VerifyClientCertIfGiven, RequireAnyClientCert, client_allowed_sans', async () => {
    const certs = await makeCerts();
    const auth = { authorization: basic('prometheus', 'scrape-pw') };
    let h = await start(certs, documentedConfig(certs, 'VerifyClientCertIfGiven'));
    expect((await send(h, certs, { headers: auth })).status).toBe(200);
    expect((await send(h, certs, { client: certs.client, headers: auth })).status).toBe(200);
    await expect(send(h, certs, { client: certs.stranger, headers: auth })).rejects.toThrow();
    await h.close();

    const anyCert = documentedConfig(certs, 'RequireAnyClientCert').replace(/ {2}client_ca_file: .*\n/, '');
    h = await start(certs, anyCert);
    await expect(send(h, certs, { headers: auth })).rejects.toThrow();
    expect((await send(h, certs, { client: certs.stranger, headers: auth })).status).toBe(200);
    await h.close();

    // makeCert's certificates name localhost and 127.0.0.1
    h = await start(certs, `${documentedConfig(certs)}`.replace('  min_version', '  client_allowed_sans: ["localhost"]\n  min_version'));
    expect((await send(h, certs, { client: certs.client, headers: auth })).status).toBe(200);
    await h.close();
    h = await start(certs, `${documentedConfig(certs)}`.replace('  min_version', '  client_allowed_sans: ["prometheus.example.org"]\n  min_version'));
    await expect(send(h, certs, { client: certs.client, headers: auth })).rejects.toThrow();
  });

  it('reloads a changed file; a broken one keeps the settings in use and is counted', async () => {
    const certs = await makeCerts();
    const h = await start(certs, documentedConfig(certs));
    const file = join(h.fakeHost.dir, 'web-config.yml');
    const scrape = (user: string, password: string): Promise<Answer> => send(h, certs, { client: certs.client, headers: { authorization: basic(user, password) } });
    const reloads = async (result: string): Promise<number | undefined> =>
      sample((await scrape('prometheus', 'scrape-pw')).body, `ess_webhook_tls_reload_total{result="${result}"}`);

    for (const broken of ['basic_auth_users: [', `${documentedConfig(certs)}  alice: not-a-hash\n`, documentedConfig(certs).replace(certs.server.keyFile, join(certs.dir, 'missing.key'))]) {
      const errorsBefore = (await reloads('error')) ?? 0;
      await writeFile(file, broken);
      await until(async () => ((await reloads('error')) ?? 0) > errorsBefore, 'the broken file counted');
    }
    expect(h.logs.some((line) => line.includes('tls: ERROR reloading the certificate (files changed) failed, still serving'))).toBe(true);

    await writeFile(file, documentedConfig(certs, 'RequireAndVerifyClientCert', `grafana: ${hash('new-pw')}`));
    await until(async () => (await scrape('grafana', 'new-pw')).status === 200, 'the new user accepted');
    expect((await scrape('prometheus', 'scrape-pw')).status).toBe(401);
  });
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
