import { ConfigError } from './config-error.js';
import { parseTlsServerConfig, type WebTls } from './web-config-tls.js';
import { Section } from './web-config-section.js';

export type { ClientAuthType, PemSource, WebTls } from './web-config-tls.js';

/**
 * The listener's web settings, from a --web.config.file in the format every Prometheus exporter reads
 * (prometheus/exporter-toolkit, docs/web-configuration.md), or from the exporter config's deprecated
 * tls_cert_file and tls_key_file.
 */
export interface WebConfig {
  /** The file the settings came from, for messages. */
  readonly file: string;
  /** True: a --web.config.file, read again when it changes; false: the exporter config's TLS keys. */
  readonly reloadable: boolean;
  /** null: plain HTTP. */
  readonly tls: WebTls | null;
  /** User name to bcrypt hash; empty: no basic authentication. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** http_server_config.headers: added to every answer. */
  readonly headers: Readonly<Record<string, string>>;
  /** rate_limit: a token bucket; null: none. */
  readonly rateLimit: { readonly intervalMs: number; readonly burst: number } | null;
}

/** No web config file: plain HTTP, no authentication but the webhook's token. */
export function plainWebConfig(file: string): WebConfig {
  return { file, reloadable: false, tls: null, basicAuthUsers: new Map(), headers: {}, rateLimit: null };
}

/** The headers exporter-toolkit lets a web config set, and the values each may take (null: any). */
const SETTABLE_HEADERS: Readonly<Record<string, readonly string[] | null>> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

/** $2a$, $2b$ or $2y$ (htpasswd -B), a cost from 4 to 31, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * The text of a --web.config.file, checked as exporter-toolkit checks it (unknown keys refused at every
 * level, the documented values only) plus what it only finds at the first request: a bcrypt hash that
 * does not parse. The files it names are read by src/http/web-tls.ts.
 */
export async function parseWebConfig(text: string, file: string): Promise<WebConfig> {
  const document = await yamlDocument(text, file);
  const top = new Section(file, '', document, ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);
  const tls = parseTlsServerConfig(new Section(file, 'tls_server_config', top.raw('tls_server_config'), TLS_SERVER_KEYS));
  return {
    file,
    reloadable: true,
    tls,
    basicAuthUsers: basicAuthUsers(freeSection(file, 'basic_auth_users', top.raw('basic_auth_users'))),
    headers: httpHeaders(new Section(file, 'http_server_config', top.raw('http_server_config'), ['http2', 'headers'])),
    rateLimit: rateLimit(new Section(file, 'rate_limit', top.raw('rate_limit'), ['interval', 'burst'])),
  };
}

/** A line of nothing but blanks and a comment. */
const BLANK_OR_COMMENT = /^[ \t]*(?:#.*)?\r?$/;

/**
 * The file's YAML document. A file of blank lines and comments only (as shipped) is the empty
 * document, null, without the YAML parser: loaded only for a file that says something, it stays out
 * of the memory of an exporter that never needs it (about 1.4 MB resident).
 */
async function yamlDocument(text: string, file: string): Promise<unknown> {
  if (text.split('\n').every((line) => BLANK_OR_COMMENT.test(line))) return null;
  const { parse } = await import('yaml');
  try {
    return parse(text, { uniqueKeys: true, strict: true, prettyErrors: true });
  } catch (error) {
    throw new ConfigError(file, '(syntax)', `not valid YAML (${(error as Error).message.replace(/\s+/g, ' ').trim()})`, { cause: error });
  }
}

/** A mapping whose keys are names the user chose (basic_auth_users): any key is known. */
function freeSection(file: string, path: string, value: unknown): Section {
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  return new Section(file, path, value, keys);
}

const TLS_SERVER_KEYS = [
  'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
  'min_version', 'max_version', 'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences',
];

/** Every user name with a hash that parses: a broken hash would otherwise lock everyone out at the first scrape. */
function basicAuthUsers(section: Section): Map<string, string> {
  const users = new Map<string, string>();
  for (const user of section.keys()) {
    const hash = section.string(user);
    if (hash === undefined || !BCRYPT_HASH.test(hash)) {
      throw section.error(user, 'is not a bcrypt hash ($2y$<cost>$..., as htpasswd -nBC 10 "" prints it)');
    }
    users.set(user, hash);
  }
  return users;
}

function httpHeaders(section: Section): Record<string, string> {
  section.boolean('http2', true);
  const headers = section.raw('headers') ?? {};
  if (typeof headers !== 'object' || Array.isArray(headers)) throw section.error('headers', 'is not a mapping');
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (!Object.hasOwn(SETTABLE_HEADERS, name)) throw section.error(`headers.${name}`, `cannot be configured (only ${Object.keys(SETTABLE_HEADERS).join(', ')})`);
    const allowed = SETTABLE_HEADERS[name];
    if (typeof value !== 'string') throw section.error(`headers.${name}`, 'is not a string');
    if (allowed && !allowed.includes(value)) throw section.error(`headers.${name}`, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  }
  return Object.fromEntries(Object.entries(headers as Record<string, string>).filter(([, value]) => value !== ''));
}

/** Go's duration syntax (1s, 500ms, 1m30s), in milliseconds; undefined: not one. */
export function goDurationMs(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  return parts.reduce((sum, [, amount = '0', unit = 's']) => sum + Number(amount) * (units[unit] ?? 0), 0);
}

function rateLimit(section: Section): WebConfig['rateLimit'] {
  const interval = section.raw('interval');
  const burst = section.raw('burst') ?? 0;
  if (interval === undefined || interval === null) return null;
  const intervalMs = typeof interval === 'string' ? goDurationMs(interval) : undefined;
  if (intervalMs === undefined) throw section.error('interval', `${JSON.stringify(interval)} is not a duration (e.g. 1s, 500ms)`);
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) throw section.error('burst', `${JSON.stringify(burst)} is not a whole number`);
  return intervalMs === 0 ? null : { intervalMs, burst };
}
