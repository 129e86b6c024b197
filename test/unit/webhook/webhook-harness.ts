import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { WebReloadOptions } from '../../../src/http/web-reload.js';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { UnprivilegedSide } from '../../../src/unprivileged-side.js';
import { type RunningServer, startServer } from '../../../src/http/server.js';
import { createFakeHost, type FakeHost } from '../helpers.js';

export const TOKEN = 'tEsT-t0ken-4f1d9c2e';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Over HTTPS: the SHA-256 fingerprint of the certificate the server presented. */
  readonly certificate?: string;
  json(): unknown;
}

export interface PostOptions {
  readonly method?: string;
  readonly path?: string;
  /** Replaces the default headers (JSON content type, the bearer token when the harness has one). */
  readonly headers?: Record<string, string>;
}

/** An exporter with its HTTP server on an ephemeral loopback port and a spool of its own. */
export interface WebhookHarness {
  readonly fakeHost: FakeHost;
  readonly exporter: UnprivilegedSide;
  readonly server: RunningServer;
  readonly spoolDir: string;
  readonly logs: string[];
  post(body: unknown, options?: PostOptions): Promise<HttpResponse>;
  get(path: string): Promise<HttpResponse>;
  /** Names of the files in incoming/ (or tmp/). */
  spoolEntries(dir: 'incoming' | 'tmp'): Promise<string[]>;
  readRequest(name: string): Promise<string>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Writes this token file and configures it; null: no token file (loopback without auth). */
  readonly token?: string | null;
  readonly config?: Record<string, unknown>;
  /** Over HTTPS (tls_cert_file, tls_key_file in config): how fast certificate changes are seen. */
  readonly tlsReload?: WebReloadOptions;
  /** A --web.config.file's text, written beside the config (relative paths in it are relative to that directory). */
  readonly webConfig?: string;
  /** The spool's directories to create (default tmp, incoming, reserve). */
  readonly spoolDirs?: readonly string[];
}

export async function startWebhookHarness(options: HarnessOptions = {}): Promise<WebhookHarness> {
  const fakeHost = await createFakeHost();
  const spoolDir = join(fakeHost.dir, 'spool');
  for (const dir of options.spoolDirs ?? ['tmp', 'incoming', 'reserve']) {
    await mkdir(join(spoolDir, dir), { recursive: true });
    // as installed (tests run as root, which may still list them)
    await chmod(join(spoolDir, dir), dir === 'reserve' ? 0o700 : 0o1730);
  }
  const token = options.token === undefined ? TOKEN : options.token;
  const tokenSettings: Record<string, unknown> = {};
  if (token !== null) {
    const tokenFile = join(fakeHost.dir, 'ess-webhook.token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o640 });
    tokenSettings.webhook_token_file = tokenFile;
  }
  let commandLine = {};
  if (options.webConfig !== undefined) {
    const webConfigFile = join(fakeHost.dir, 'web-config.yml');
    await writeFile(webConfigFile, options.webConfig);
    commandLine = { webConfigFile };
  }
  const config = await fakeHost.config({ ...tokenSettings, ...options.config }, commandLine);
  const logs: string[] = [];
  const exporter = new UnprivilegedSide(config, { version: '1.2.3', nodejsVersion: process.version }, (line) => logs.push(line), fakeHost.hostPaths);
  await exporter.start();
  const server = await startServer(exporter.served(), config.listen, '1.2.3', options.tlsReload);
  // a new connection per request (agent false): a certificate reload shows on the next one
  const open = server.protocol === 'https' ? httpsRequest : request;

  const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const target = { host: server.address.host, port: server.address.port, path, method, headers, timeout: 10_000 };
      const tlsOptions = server.protocol === 'https' ? { agent: false, rejectUnauthorized: false } : {};
      const req = open({ ...target, ...tlsOptions }, (res) => {
        const certificate = server.protocol === 'https' ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            ...(certificate !== undefined && { certificate }),
            json: () => JSON.parse(text) as unknown,
          });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
      req.on('error', reject);
      req.end(body);
    });

  return {
    fakeHost,
    exporter,
    server,
    spoolDir,
    logs,
    post(body, { method = 'POST', path = '/alertmanager', headers } = {}) {
      const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const defaults: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== null) defaults.authorization = `Bearer ${token}`;
      return send(method, path, { ...(headers ?? defaults), 'content-length': String(payload.length) }, payload);
    },
    get: (path) => send('GET', path, {}),
    async spoolEntries(dir) {
      return (await readdir(join(spoolDir, dir))).sort();
    },
    readRequest: (name) => readFile(join(spoolDir, 'incoming', name), 'utf8'),
    async metrics() {
      return (await send('GET', '/metrics', {})).body;
    },
    async close() {
      await server.close(100);
      await exporter.close();
      await fakeHost.cleanup();
    },
  };
}

/** What a TLS test starts: the harness and the certificate directory it made. */
export interface TlsTestState {
  harness?: WebhookHarness | undefined;
  certDir?: string | undefined;
}

/** Registers an afterEach that closes the harness and removes the certificate directory of each test. */
export function tlsTestState(): TlsTestState {
  const state: TlsTestState = {};
  afterEach(async () => {
    await state.harness?.close();
    if (state.certDir !== undefined) await rm(state.certDir, { recursive: true, force: true });
    delete state.harness;
    delete state.certDir;
  });
  return state;
}
