import { createHash } from 'node:crypto';
import { compare } from 'bcryptjs';

/**
 * Compared against when the user is unknown, so that an unknown user takes as long as a wrong password
 * (no user enumeration by timing), as exporter-toolkit does. Hash of a password no user has.
 */
const UNKNOWN_USER_HASH = '$2b$10$rzMoeGYh1yLvLNyG6rwOhObqNwRhlyNFfaTPNwKUdSA.CY0RMeYKi';

/** exporter-toolkit keeps 100 outcomes; a scraper or two only ever needs one. */
const CACHE_SIZE = 100;

/**
 * basic_auth_users of the web config. A bcrypt comparison costs tens of milliseconds of CPU by design:
 * each outcome is cached by (user, hash, password) so a scrape every few seconds pays it once, and
 * comparisons run one at a time so a flood of guesses cannot take more than one core's share.
 */
export class BasicAuth {
  readonly #cache = new Map<string, boolean>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly users: ReadonlyMap<string, string>) {}

  /** Whether the Authorization header names a user and their password. */
  async allows(header: string | undefined): Promise<boolean> {
    const credentials = basicCredentials(header);
    if (credentials === undefined) return false;
    const hash = this.users.get(credentials.user);
    const key = createHash('sha256').update(JSON.stringify([credentials.user, hash ?? '', credentials.password])).digest('hex');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const run = this.#queue.then(() => compare(credentials.password, hash ?? UNKNOWN_USER_HASH));
    this.#queue = run.catch(() => undefined);
    const ok = hash !== undefined && (await run.catch(() => false));
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, ok);
    return ok;
  }
}

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
