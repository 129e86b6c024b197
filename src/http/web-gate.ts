import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebConfig } from '../config/web-config.js';
import { BasicAuth } from './basic-auth.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** rate_limit: one request per interval, bursts of up to burst (Go's rate.Limiter, as exporter-toolkit uses). */
class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly intervalMs: number,
    readonly burst: number,
    readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) / this.intervalMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * What the web config asks of every request before it is served: its headers on every answer, then,
 * except on the paths that authenticate on their own (the webhook's bearer token, which Alertmanager
 * sends in the same Authorization header), the rate limit and basic authentication. Settings are
 * swapped whole on a reload; requests already past the gate are not judged again.
 */
export class WebGate {
  #headers: Readonly<Record<string, string>> = {};
  #auth: BasicAuth | null = null;
  #bucket: TokenBucket | null = null;

  constructor(
    web: WebConfig,
    readonly ownAuthPaths: readonly string[],
  ) {
    this.apply(web);
  }

  apply(web: WebConfig): void {
    this.#headers = web.headers;
    this.#auth = web.basicAuthUsers.size === 0 ? null : new BasicAuth(web.basicAuthUsers);
    this.#bucket = web.rateLimit === null ? null : new TokenBucket(web.rateLimit.intervalMs, web.rateLimit.burst);
  }

  wrap(next: Handler): Handler {
    return (req, res) => {
      for (const [name, value] of Object.entries(this.#headers)) res.setHeader(name, value);
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
      if (this.ownAuthPaths.includes(path)) {
        next(req, res);
        return;
      }
      if (this.#bucket !== null && !this.#bucket.take()) {
        refuse(res, 429, 'too many requests\n');
        return;
      }
      const auth = this.#auth;
      if (auth === null) {
        next(req, res);
        return;
      }
      void auth.allows(req.headers.authorization).then((ok) => {
        if (req.socket.destroyed) return;
        if (ok) next(req, res);
        else refuse(res, 401, 'unauthorized\n', { 'WWW-Authenticate': 'Basic' });
      });
    };
  }
}

function refuse(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
