import type { FSWatcher } from 'chokidar';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Server as HttpsServer } from 'node:https';
import { dirname } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Counter } from 'prom-client';
import type { WebConfig, WebTls } from '../config/web-config.js';
import { describe, type Log } from '../io/log.js';
import { identityOf, watchNames } from '../io/name-watch.js';
import { loadTlsPair, secureContextOptions, type TlsPair, TlsPairError, tlsPairValidAt } from './tls-pair.js';
import type { WebGate } from './web-gate.js';

export interface WebReloadOptions {
  /** Quiet time after the last change before reloading: a renewal writes the files one after the other. */
  readonly settleMs: number;
}

export const WEB_RELOAD_DEFAULTS: WebReloadOptions = { settleMs: 1_000 };

/** What the reloader acts on: the HTTPS listener (null over plain HTTP) and the request gate. */
export interface WebTargets {
  readonly server: HttpsServer | null;
  readonly gate: WebGate;
  /** Reads the web config file again (a reloadable one). */
  readonly reread: () => Promise<WebConfig>;
  readonly reloads: Counter<'result'>;
  readonly log: Log;
  /** Told the pair in use, at start and after each reload (the expiry gauge). */
  readonly onPair: (pair: TlsPair) => void;
  readonly now?: () => number;
}

/** The files a web config reads: itself when it is a --web.config.file, and the PEM files it names. */
function watchedFiles(web: WebConfig): string[] {
  const pems = web.tls === null ? [] : [web.tls.cert, web.tls.key, web.tls.clientCa];
  const files = pems.flatMap((source) => (source !== null && 'file' in source ? [source.file] : []));
  return web.reloadable ? [web.file, ...files] : files;
}

/** How often a file in a directory the exporter cannot list is stat()ed (chokidar's polling). */
const UNLISTED_POLL_MS = 1_000;

/**
 * What is watched for `files`: the directory of each, where certbot and Kubernetes replace a name by a
 * rename or switch a symbolic link; or, when its directory cannot be listed (a key in a 0710
 * directory), the file itself, polled: inotify on a file follows the inode it named, never a link
 * switched or a name renamed over, which a stat() of the path sees.
 */
async function watchRoots(files: readonly string[]): Promise<{ readonly dirs: string[]; readonly unlisted: string[] }> {
  const listable = await Promise.all(
    files.map(async (file) => {
      try {
        await access(dirname(file), constants.R_OK | constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }),
  );
  return {
    dirs: [...new Set(files.filter((_, i) => listable[i]).map((file) => dirname(file)))],
    unlisted: [...new Set(files.filter((_, i) => !listable[i]))],
  };
}

/** What each path resolves to now (symbolic links followed), with its contents' size and time or not. */
async function signature(paths: readonly string[], contents: boolean): Promise<string> {
  const each = await Promise.all(
    paths.map(async (path) => {
      try {
        const info = await stat(path);
        return contents ? `${identityOf(info)}:${info.mtimeMs}:${info.size}` : identityOf(info);
      } catch (error) {
        return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
      }
    }),
  );
  return each.join('\n');
}

/** Which client certificates the listener asks for, and which node:tls itself refuses (the rest: acceptsClient). */
export function clientCertRequest(tls: WebTls | null): { requestCert: boolean; rejectUnauthorized: boolean } {
  const clientAuth = tls?.clientAuth ?? 'NoClientCert';
  return { requestCert: clientAuth !== 'NoClientCert', rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert' };
}

/**
 * The policies node:tls has no option for, judged once the handshake is done: RequireAnyClientCert (a
 * certificate, verified or not), VerifyClientCertIfGiven (none, or one that verifies), and
 * client_allowed_sans (the certificate names one of them).
 */
export function acceptsClient(tls: WebTls | null, socket: TLSSocket): boolean {
  if (tls === null) return true;
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  if (tls.clientAuth === 'RequireAnyClientCert' && !presented) return false;
  if (tls.clientAuth === 'VerifyClientCertIfGiven' && presented && !socket.authorized) return false;
  if (tls.clientAllowedSans === null) return true;
  const sans = (peer.subjectaltname ?? '').split(', ').map((entry) => entry.slice(entry.indexOf(':') + 1));
  return sans.some((san) => tls.clientAllowedSans?.includes(san));
}

/**
 * Applies a changed web config and the files it names without closing the listener: setSecureContext()
 * and the client certificate policy apply to connections accepted afterwards, the gate to requests
 * that arrive afterwards, and requests in progress (a trip being written) finish as they started. A
 * file that does not parse, a pair that does not match, a key that cannot be read: the settings in use
 * stay, logged and counted.
 */
export class WebReloader {
  #web: WebConfig;
  #pair: TlsPair | null;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #watching: string[] = [];
  #watchers: FSWatcher[] = [];
  #signature = '';
  #closed = false;

  constructor(
    readonly targets: WebTargets,
    web: WebConfig,
    pair: TlsPair | null,
    readonly options: WebReloadOptions = WEB_RELOAD_DEFAULTS,
  ) {
    this.#web = web;
    this.#pair = pair;
    if (pair !== null) targets.onPair(pair);
  }

  get web(): WebConfig {
    return this.#web;
  }

  /**
   * Watches the files (chokidar, watchNames) and resolves once changes are seen. Any event in their
   * directories leads to a stat() of each: a change of what a path resolves to (a renewal renamed
   * over it, a symbolic link switched) or of its contents starts the settle time before a reload.
   */
  async watch(): Promise<void> {
    const files = watchedFiles(this.#web);
    this.#watching = files;
    if (files.length === 0 || this.#closed) return;
    const { dirs, unlisted } = await watchRoots(files);
    const roots = [...dirs, ...unlisted];
    const rootsIdentity = await signature(roots, false);
    const changed = (): void => void this.#changedMaybe(files, roots, rootsIdentity);
    const handlers = {
      onPath: changed,
      onRaw: changed,
      onError: (error: unknown) =>
        this.targets.log(`web config: watching ${files.join(', ')} failed, changes are taken at SIGHUP only: ${describe(error)}`, 'warning'),
    };
    const watchers = await Promise.all([
      ...(dirs.length > 0 ? [watchNames(dirs, files, handlers)] : []),
      ...(unlisted.length > 0 ? [watchNames(unlisted, unlisted, handlers, UNLISTED_POLL_MS)] : []),
    ]);
    this.#signature = await signature(files, true);
    if (this.#closed || this.#watching !== files) {
      await Promise.all(watchers.map((watcher) => watcher.close()));
      return;
    }
    this.#watchers = watchers;
  }

  async #changedMaybe(files: readonly string[], roots: readonly string[], rootsIdentity: string): Promise<void> {
    const now = await signature(files, true);
    if (now === this.#signature || this.#watching !== files) return;
    this.#signature = now;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload('files changed'), this.options.settleMs);
    this.#timer.unref();
    // a directory replaced by another one: the watch of the old one is dead
    if ((await signature(roots, false)) !== rootsIdentity && this.#watching === files) {
      this.#unwatch();
      await this.watch();
    }
  }

  /** Reloads now (SIGHUP, a change seen); reloads never overlap. Never rejects. */
  reload(why: string): Promise<void> {
    this.#running = this.#running.then(() => this.#reloadOnce(why));
    return this.#running;
  }

  async #reloadOnce(why: string): Promise<void> {
    const { targets } = this;
    let web: WebConfig;
    let pair: TlsPair | null;
    try {
      web = this.#web.reloadable ? await targets.reread() : this.#web;
      pair = await this.#apply(web);
    } catch (error) {
      targets.reloads.inc({ result: 'error' });
      const inUse = this.#pair === null ? `the settings of ${this.#web.file} stay in use` : `still serving ${this.#pair.fingerprint256}`;
      targets.log(`tls: ERROR reloading the certificate (${why}) failed, ${inUse}: ${describe(error)}`, 'error');
      return;
    }
    targets.reloads.inc({ result: 'ok' });
    const before = this.#pair;
    this.#web = web;
    this.#pair = pair;
    if (watchedFiles(web).join('\n') !== this.#watching.join('\n')) {
      this.#unwatch();
      await this.watch();
    }
    if (pair === null) {
      targets.log(`web config: ${web.file} reloaded (${why})`);
      return;
    }
    targets.onPair(pair);
    const changed = pair.fingerprint256 === before?.fingerprint256 ? 'unchanged' : `was ${before?.fingerprint256 ?? 'none'}`;
    targets.log(`tls: certificate reloaded (${why}): ${pair.fingerprint256} valid to ${pair.validTo} (${changed})`);
  }

  /** Everything checked first, then applied at once: the listener's TLS settings, then the gate's. */
  async #apply(web: WebConfig): Promise<TlsPair | null> {
    const { server, gate } = this.targets;
    if ((web.tls === null) !== (server === null)) {
      throw new Error(`${web.file}: tls_server_config ${web.tls === null ? 'removed' : 'added'}; switching between HTTP and HTTPS takes a restart`);
    }
    let pair: TlsPair | null = null;
    if (web.tls !== null && server !== null) {
      pair = await loadTlsPair(web.tls);
      if (this.#pair !== null) refuseOutOfDate(pair, this.#pair, web.tls, (this.targets.now ?? Date.now)());
      server.setSecureContext(secureContextOptions(web.tls, pair));
      // read by node:tls for every connection accepted from now on
      Object.assign(server, clientCertRequest(web.tls));
    }
    gate.apply(web);
    return pair;
  }

  #unwatch(): void {
    // chokidar's close() releases the inotify handles at once; its promise only settles its streams
    for (const watcher of this.#watchers) void watcher.close();
    this.#watchers = [];
    this.#watching = [];
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unwatch();
  }
}

/**
 * An expired or not yet valid certificate in place of one that works (an old backup restored, a
 * renewal issued with a wrong clock) would make Alertmanager refuse every delivery to this host, and
 * Prometheus every scrape: the host could no longer be tripped by an alert. It is refused like a broken
 * pair. When the pair in use is out of date too, the new one cannot make things worse and is taken.
 */
function refuseOutOfDate(pair: TlsPair, current: TlsPair, tls: WebTls, nowMs: number): void {
  if (tlsPairValidAt(pair, nowMs) || !tlsPairValidAt(current, nowMs)) return;
  const when = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'unknown');
  throw new TlsPairError(
    tls.cert.key,
    `the new certificate is valid from ${when(pair.notBeforeMs)} to ${when(pair.notAfterMs)}, not now ` +
      `(${when(nowMs)}); Alertmanager would refuse it`,
  );
}
