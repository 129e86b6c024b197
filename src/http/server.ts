import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type AddressInfo, BlockList, isIP } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Counter } from 'prom-client';
import { ConfigError } from '../config/config-error.js';
import { checkExposure, type Exposure } from '../config/exporter-config.js';
import { formatListenAddress, type ListenAddress } from '../config/listen-address.js';
import type { Log } from '../io/log.js';
import { ConnectionGuard, type ConnectionLimits, type GuardAction } from './connection-guard.js';
import { landingPage } from './landing-page.js';
import type { WebConfig } from '../config/web-config.js';
import { loadTlsPair, secureContextOptions, type TlsPair, tlsPairValidAt } from './tls-pair.js';
import { WebGate } from './web-gate.js';
import { acceptsClient, clientCertRequest, WEB_RELOAD_DEFAULTS, WebReloader, type WebReloadOptions } from './web-reload.js';

/**
 * Bounds on what a client can hold. Prometheus and Alertmanager send a complete request right after
 * connecting, over loopback or a LAN: seconds are plenty, and an idle or slow connection is cheap to drop.
 */
export const HTTP_LIMITS = {
  connections: { total: 512, perClient: 256 },
  /** From the connection (or the previous request on it) to a complete request head. */
  headersTimeoutMs: 5_000,
  /** The whole request, body included (a 1 MiB body takes milliseconds). */
  requestTimeoutMs: 10_000,
  /** An answer produced and not taken by the client within this: the connection is closed. */
  writeTimeoutMs: 5_000,
  /** From a complete request head to its answer taken, all phases together. */
  responseTimeoutMs: 15_000,
  /** An idle kept-alive connection; Prometheus scrapes again within its interval and reconnects if not. */
  keepAliveTimeoutMs: 5_000,
  /** How often those timeouts are checked (Node's default, 30 s, would let a request head take 35 s). */
  checkIntervalMs: 1_000,
  maxHeaderBytes: 16 * 1024,
  /** Pending connections the kernel queues for accept() (capped by net.core.somaxconn). */
  backlog: 4096,
};

/** The guard's share of HTTP_LIMITS. */
export const GUARD_LIMITS: ConnectionLimits = {
  ...HTTP_LIMITS.connections,
  writeTimeoutMs: HTTP_LIMITS.writeTimeoutMs,
  responseTimeoutMs: HTTP_LIMITS.responseTimeoutMs,
  checkIntervalMs: HTTP_LIMITS.checkIntervalMs,
};

/** All the server needs from the rest of the exporter (src/unprivileged-side.ts builds it). */
export interface Served {
  /** The scrape: every reading brought up to date, then rendered in the exposition format. */
  renderMetrics(): Promise<string>;
  readonly metricsContentType: string;
  /** GET /healthz: readings brought up to date, then whether every read succeeds and each read's health. */
  health(): Promise<{ readonly ok: boolean; readonly reads: Readonly<Record<string, unknown>>; readonly trip_path?: unknown }>;
  /** The routes the exporter adds (the webhook), tried after the server's own and before the 404. */
  readonly routes: RequestHandler;
  readonly log: Log;
  /** Where listen came from, for messages: the config file and key, or the command line. */
  readonly listenSource: { readonly file: string; readonly key: string };
  /** The configured exposure (token, TLS): what the address actually bound is judged with. */
  readonly exposure: Exposure;
  /** TLS, basic authentication, headers, rate limit (--web.config.file, or the exporter config's TLS keys). */
  readonly web: WebConfig;
  /** Reads the --web.config.file again, for a reload. */
  rereadWeb(): Promise<WebConfig>;
  /** Where the metrics are served (--web.telemetry-path, default /metrics). */
  readonly telemetryPath: string;
  /** Paths that authenticate on their own (the webhook's bearer token): never behind basic authentication. */
  readonly ownAuthPaths: readonly string[];
  /** The web config's reloads by result, and the certificate in use (its notAfter, ms since the epoch). */
  readonly tlsReloads: Counter<'result'>;
  tlsCertInUse(notAfterMs: number): void;
  /** A connection the guard closed, by why. */
  connectionClosed(reason: GuardAction): void;
}

export function createApp(exporter: Served, version: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(version, exporter.telemetryPath));
  });

  // GET of the metrics normally never gets here (see metricsFastPath); HEAD and the like do.
  app.get(exporter.telemetryPath, async (_req, res) => {
    const body = await exporter.renderMetrics();
    res.type(exporter.metricsContentType).set('Cache-Control', 'no-store').send(body);
  });

  app.get('/healthz', async (_req, res) => {
    const { ok, reads, trip_path } = await exporter.health();
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'failing', reads, trip_path });
  });

  app.use(exporter.routes);

  app.use((_req, res) => {
    res.status(404).type('text').send('not found; see / for the endpoints\n');
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    exporter.log(`request failed: ${String(error)}`);
    res.status(500).type('text').send('internal error\n');
  };
  app.use(onError);
  return app;
}

/**
 * GET /metrics straight on node:http, around express: a scrape is the exporter's most frequent request,
 * and express's router and response helpers cost about as much CPU as the readings themselves. Same
 * answer as the express route (status, Content-Type, Cache-Control, Content-Length; no ETag).
 */
function metricsFastPath(exporter: Served, app: Express): (req: IncomingMessage, res: ServerResponse) => void {
  const render = sharedRender(() => exporter.renderMetrics());
  const path = exporter.telemetryPath;
  const serve = async (res: ServerResponse): Promise<void> => {
    try {
      const body = await render();
      if (res.destroyed) return;
      res.writeHead(200, {
        'Content-Type': exporter.metricsContentType,
        'Cache-Control': 'no-store',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    } catch (error) {
      exporter.log(`request failed: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  };
  return (req, res) => {
    // closed by the connection guard (a pipelined request) before it got here
    if (req.socket.destroyed) return;
    if (req.method === 'GET' && (req.url === path || req.url?.startsWith(`${path}?`))) void serve(res);
    else app(req, res);
  };
}

/**
 * At most one render at a time: a scrape that arrives during a render is answered by it (read at most
 * one render's duration before the scrape arrived), so a thousand concurrent scrapes cost one render,
 * and a scrape never waits longer than one render (which reads files only: the unit states are pushed).
 */
export function sharedRender<T>(produce: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    if (running !== undefined) return running;
    const run = produce().finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };
}

/**
 * The address actually bound, judged: a socket passed by systemd must be the configured address (the
 * socket unit and the config must not disagree), and whatever was bound must be loopback unless a
 * token guards it (a host name like localhost binds wherever the hosts file points).
 */
function checkBound(bound: ListenAddress, wanted: ListenAddress, passed: boolean, exporter: Served): void {
  const { file, key } = exporter.listenSource;
  if (passed && !sameAddress(bound, wanted)) {
    throw new ConfigError(
      file,
      key,
      `${formatListenAddress(wanted)}, but the socket systemd passed (quantum-ess-exporter.socket) listens on ${formatListenAddress(bound)}: ` +
        'they must agree (install.sh renders the socket unit from this config)',
    );
  }
  checkExposure(bound, exporter.exposure, `${key} bound to`, file);
}

function sameAddress(bound: ListenAddress, wanted: ListenAddress): boolean {
  if (bound.port !== wanted.port) return false;
  const family = isIP(wanted.host);
  if (family === 0) return false;
  const list = new BlockList();
  list.addAddress(wanted.host, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(bound.host, isIP(bound.host) === 4 ? 'ipv4' : 'ipv6');
}

export interface RunningServer {
  readonly address: ListenAddress;
  readonly protocol: 'http' | 'https';
  /** The connection guard: open connections and what it closed, by why. */
  readonly guard: ConnectionGuard;
  /** Reads the web config and the files it names again (SIGHUP); a no-op without either. Never rejects. */
  reloadWeb(why: string): Promise<void>;
  /** Stops accepting, lets requests in progress finish for up to graceMs, then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Plain HTTP, or HTTPS with the web config's pair and client certificate policy; not listening yet. */
async function createListener(exporter: Served, handler: RequestListener): Promise<{ readonly server: Server; readonly pair: TlsPair | null }> {
  const limits = {
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs,
    maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
  };
  const { tls } = exporter.web;
  let server: Server;
  let pair: TlsPair | null = null;
  if (tls === null) {
    server = createServer(limits, handler);
  } else {
    pair = await loadTlsPair(tls);
    if (!tlsPairValidAt(pair, Date.now())) {
      // still served (nothing better is at hand), but Alertmanager and Prometheus will refuse it
      exporter.log(`tls: ERROR ${'file' in tls.cert ? tls.cert.file : tls.cert.key} is not valid now (valid to ${pair.validTo}): Alertmanager cannot deliver trips to this host`, 'error');
    }
    const https = createHttpsServer(
      { ...limits, ...secureContextOptions(tls, pair), ...clientCertRequest(tls), handshakeTimeout: HTTP_LIMITS.headersTimeoutMs },
      handler,
    );
    // https.Server is an http.Server underneath (same request, timeout and connection machinery)
    server = https as unknown as Server;
  }
  // no socket inactivity timeout of its own: the three above bound every phase
  server.timeout = 0;
  return { server, pair };
}

/** Binds the configured address, or serves on the socket systemd passed. */
async function listenOn(server: Server, listen: ListenAddress, socketFd: number | undefined): Promise<void> {
  if (socketFd === undefined) server.listen({ host: listen.host, port: listen.port, backlog: HTTP_LIMITS.backlog });
  // Node listens again on a passed socket, with its own backlog (511) unless given one as the second
  // argument (it ignores options.backlog with an fd): the socket unit's Backlog= would be cut to 511,
  // and a connection flood would make the kernel drop a scrape's SYN (a 1 s, 3 s, 7 s retry)
  else server.listen({ fd: socketFd }, HTTP_LIMITS.backlog);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) =>
      reject(new Error(`cannot listen on ${socketFd === undefined ? formatListenAddress(listen) : `the socket passed by systemd (fd ${socketFd})`}`, { cause: error })),
    );
  });
}

/**
 * Plain HTTP, or HTTPS when the config names a certificate pair: the same router, limits, timeouts and
 * connection guard either way. The TLS handshake gets the header timeout too, so a client that
 * connects and never completes it holds its connection no longer than one that never sends a request.
 */
export async function startServer(
  exporter: Served,
  listen: ListenAddress,
  version: string,
  webReload: WebReloadOptions = WEB_RELOAD_DEFAULTS,
  /** A listening socket passed by systemd (quantum-ess-exporter.socket): served on instead of binding. */
  socketFd?: number,
): Promise<RunningServer> {
  const gate = new WebGate(exporter.web, exporter.ownAuthPaths);
  const { server, pair } = await createListener(exporter, gate.wrap(metricsFastPath(exporter, createApp(exporter, version))));
  const https = exporter.web.tls === null ? null : (server as unknown as HttpsServer);
  const reloader =
    https === null && !exporter.web.reloadable
      ? undefined
      : new WebReloader(
          { server: https, gate, reread: () => exporter.rereadWeb(), reloads: exporter.tlsReloads, log: exporter.log, onPair: (inUse) => exporter.tlsCertInUse(inUse.notAfterMs) },
          exporter.web,
          pair,
          webReload,
        );
  // before the HTTP layer sees the connection: a client the policy refuses never gets a request in
  https?.prependListener('secureConnection', (socket: TLSSocket) => {
    if (!acceptsClient(reloader?.web.tls ?? null, socket)) socket.destroy();
  });
  const guard = new ConnectionGuard(GUARD_LIMITS, (reason) => exporter.connectionClosed(reason));
  guard.attach(server);
  await listenOn(server, listen, socketFd);
  const { address, port } = server.address() as AddressInfo;
  try {
    checkBound({ host: address, port }, listen, socketFd !== undefined, exporter);
  } catch (error) {
    reloader?.close();
    server.close();
    throw error;
  }
  await reloader?.watch();
  return {
    address: { host: address, port },
    protocol: https === null ? 'http' : 'https',
    guard,
    reloadWeb: (why) => reloader?.reload(why) ?? Promise.resolve(),
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        reloader?.close();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
