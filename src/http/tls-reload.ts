import { unwatchFile, watchFile, type StatWatcher } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { Counter } from 'prom-client';
import { describe, type Log } from '../io/log.js';
import type { TlsFiles } from '../config/exporter-config.js';
import { loadTlsPair, type TlsPair, TlsPairError, tlsPairValidAt } from './tls-pair.js';

interface WatchedStats {
  readonly mtimeMs: number;
  readonly ino: number;
  readonly size: number;
}

export interface TlsReloadOptions {
  /** How often the two files are stat()ed. Polling, not inotify: certbot and Kubernetes replace symlinks. */
  readonly pollMs: number;
  /** Quiet time after the last change before reloading: a renewal writes the two files one after the other. */
  readonly settleMs: number;
}

export const TLS_RELOAD_DEFAULTS: TlsReloadOptions = { pollMs: 1_000, settleMs: 1_000 };

/**
 * Swaps the HTTPS listener's certificate without closing it: setSecureContext() applies to connections
 * accepted afterwards, and requests in progress (a trip being written) finish on the old one. A pair
 * that does not parse or match keeps the old one in use, logged and counted.
 */
export class TlsReloader {
  #current: TlsPair;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #listener: ((now: WatchedStats, before: WatchedStats) => void) | undefined;

  constructor(
    readonly server: HttpsServer,
    readonly files: TlsFiles,
    initial: TlsPair,
    readonly reloads: Counter<'result'>,
    readonly log: Log,
    readonly options: TlsReloadOptions = TLS_RELOAD_DEFAULTS,
    /** Told the pair in use, at start and after each reload (the expiry gauge). */
    readonly onPair: (pair: TlsPair) => void = () => undefined,
    readonly now: () => number = Date.now,
  ) {
    this.#current = initial;
    onPair(initial);
  }

  get current(): TlsPair {
    return this.#current;
  }

  watch(): void {
    const onChange = (now: WatchedStats, before: WatchedStats): void => {
      if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.reload('files changed'), this.options.settleMs);
      this.#timer.unref();
    };
    this.#listener = onChange;
    for (const file of [this.files.certFile, this.files.keyFile]) {
      const watcher: StatWatcher = watchFile(file, { interval: this.options.pollMs, persistent: false }, onChange);
      watcher.unref();
    }
  }

  /** Reloads now (SIGHUP, a change seen); reloads never overlap. Never rejects. */
  reload(why: string): Promise<void> {
    this.#running = this.#running.then(() => this.#reloadOnce(why));
    return this.#running;
  }

  async #reloadOnce(why: string): Promise<void> {
    let pair: TlsPair;
    try {
      pair = await loadTlsPair(this.files);
      refuseOutOfDate(pair, this.#current, this.now());
      this.server.setSecureContext({ cert: pair.cert, key: pair.key });
    } catch (error) {
      this.reloads.inc({ result: 'error' });
      this.log(
        `tls: ERROR reloading the certificate (${why}) failed, still serving ${this.#current.fingerprint256}: ${describe(error)}`,
      );
      return;
    }
    this.reloads.inc({ result: 'ok' });
    const changed = pair.fingerprint256 === this.#current.fingerprint256 ? 'unchanged' : `was ${this.#current.fingerprint256}`;
    this.#current = pair;
    this.onPair(pair);
    this.log(`tls: certificate reloaded (${why}): ${pair.fingerprint256} valid to ${pair.validTo} (${changed})`);
  }

  close(): void {
    clearTimeout(this.#timer);
    if (this.#listener === undefined) return;
    unwatchFile(this.files.certFile, this.#listener);
    unwatchFile(this.files.keyFile, this.#listener);
    this.#listener = undefined;
  }
}

/**
 * An expired or not yet valid certificate in place of one that works (an old backup restored, a
 * renewal issued with a wrong clock) would make Alertmanager refuse every delivery to this host, and
 * Prometheus every scrape: the host could no longer be tripped by an alert. It is refused like a broken
 * pair. When the pair in use is out of date too, the new one cannot make things worse and is taken.
 */
function refuseOutOfDate(pair: TlsPair, current: TlsPair, nowMs: number): void {
  if (tlsPairValidAt(pair, nowMs) || !tlsPairValidAt(current, nowMs)) return;
  const when = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'unknown');
  throw new TlsPairError(
    'tls_cert_file',
    `the new certificate is valid from ${when(pair.notBeforeMs)} to ${when(pair.notAfterMs)}, not now ` +
      `(${when(nowMs)}); Alertmanager would refuse it`,
  );
}
