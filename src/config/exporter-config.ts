import type { ExporterConfigFile } from '../contract/types.generated.js';
import { schemaProblemList } from '../contract/schema-validator.js';
import { validateExporterConfigFile } from '../contract/validators.generated.js';
import { DEPRECATED_EXPORTER_KEYS } from '../contract/values.generated.js';
import { isAbsolute } from 'node:path';
import { DEFAULT_TRIP_RULES, parseTripRules, type TripRule, TripRuleError } from './trip-rules.js';
import { ConfigError } from './config-error.js';
import { DEFAULT_ESS_CONFIG_FILE, type EssConf } from './ess-conf.js';
import { formatListenAddress, isLoopbackHost, type ListenAddress, parseListenAddress } from './listen-address.js';
import { defaultHost, hostProblem } from './identity.js';
import { type WebhookFileSettings, type WebhookSettings, webhookSettings } from './webhook-settings.js';
import { plainWebConfig, type WebConfig, type WebTls } from './web-config.js';

export const DEFAULT_EXPORTER_CONFIG_FILE = '/etc/quantum/ess-exporter.json';

/**
 * 10170: the Prometheus default-port wiki has no free port left in 9100-9999, and new exporters are
 * allocated above 10000. Loopback only by default: the exporter is meant to be scraped locally.
 */
export const DEFAULT_LISTEN = '127.0.0.1:10170';

/**
 * The exporter config's values, checked. config/ reads no file: src/load-config.ts reads this one, the
 * ess.conf it names, the TLS pair and the token, and hands the texts here.
 */
export interface ExporterConfig {
  readonly listen: ListenAddress;
  /** Where listen came from, for messages: the config file (key listen) or the command line (--listen). */
  readonly listenSource: { readonly file: string; readonly key: string };
  /** D-Bus address of the system bus, where systemd pushes the unit states. */
  readonly systemBusAddress: string;
  /** Bounds the connection to the bus and every D-Bus call. */
  readonly dbusTimeoutMs: number;
  readonly ess: EssConf;
  /** The ess.conf file read: the installer's wiring record lies beside it (contract section 1). */
  readonly essConfigFile: string;
  readonly webhook: WebhookSettings;
  /** Where the metrics are served: --web.telemetry-path. */
  readonly telemetryPath: string;
  /**
   * TLS, basic authentication, headers, rate limit: the --web.config.file, or the exporter config's
   * deprecated tls_cert_file and tls_key_file; reloaded when the files change (src/http/web-reload.ts).
   */
  readonly web: WebConfig;
  /** The deprecated tls_cert_file and tls_key_file (of configFile), kept over every reload of the web config file. */
  readonly legacyTls: WebTls | null;
  readonly configFile: string;
  readonly allowPlainHttpToken: boolean;
  /** Keys of an earlier version the file still carries, ignored: logged at start-up as warnings. */
  readonly deprecations: readonly string[];
}

/** Values given on the command line win over the file. */
export interface ConfigOverrides {
  readonly listen?: string;
  readonly essConfigFile?: string;
  /** The --web.config.file, read and parsed. */
  readonly webConfig?: WebConfig;
  readonly telemetryPath?: string;
}

export const DEFAULT_TELEMETRY_PATH = '/metrics';

/** The paths the exporter serves besides the metrics, which --web.telemetry-path must not take. */
const OWN_PATHS = ['/', '/healthz', '/alertmanager'];

/** A path of its own for the metrics, as an HTTP request names it. */
function checkTelemetryPath(path: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(path)) throw new ConfigError('command line', '--web.telemetry-path', `${JSON.stringify(path)} is not a path (/ followed by URL path characters)`);
  if (OWN_PATHS.includes(path)) throw new ConfigError('command line', '--web.telemetry-path', `${path} is already served (${OWN_PATHS.join(', ')})`);
  return path;
}

interface FileSettings extends WebhookFileSettings {
  readonly listen: string;
  readonly ess_config_file: string;
  readonly system_bus_address: string;
  readonly dbus_timeout_seconds: number;
  readonly tls_cert_file: string | null;
  readonly tls_key_file: string | null;
  readonly allow_plain_http_token: boolean;
}

const DEFAULT_SETTINGS: Readonly<FileSettings> = {
  listen: DEFAULT_LISTEN,
  ess_config_file: DEFAULT_ESS_CONFIG_FILE,
  // Unit states are pushed by systemd over this bus, the only way an unprivileged process can ask it.
  system_bus_address: 'unix:path=/run/dbus/system_bus_socket',
  // A scrape never waits for the bus; this bounds how long a silent systemd or bus takes to show.
  dbus_timeout_seconds: 2,
  // Without a token file only a loopback listen address is accepted (checkExposure).
  webhook_token_file: null,
  // Alertmanager's payloads are a few kB per alert; 1 MiB is hundreds of alerts.
  webhook_body_limit_bytes: 1024 * 1024,
  webhook_dry_run: false,
  trip_rules: DEFAULT_TRIP_RULES,
  // null: the kernel's host name, checked like a configured one when the config is loaded
  host: null,
  groups: [],
  tls_cert_file: null,
  tls_key_file: null,
  // A token sent in clear text off loopback can be read and replayed by anyone on the path.
  allow_plain_http_token: false,
};

function absolutePathProblem(value: unknown): string | undefined {
  return typeof value === 'string' && isAbsolute(value) ? undefined : `${JSON.stringify(value)} is not an absolute path`;
}

/**
 * The deprecated keys a file still carries, each with what to do. Every installed file carries the
 * poll's keys (the installer keeps an operator's file), so they are ignored for one release rather than
 * refused: an upgrade must not stop at a file the operator never wrote.
 */
function deprecationsOf(json: unknown, file: string): string[] {
  if (typeof json !== 'object' || json === null) return [];
  return Object.keys(json)
    .filter((key) => Object.hasOwn(DEPRECATED_EXPORTER_KEYS, key))
    .map((key) => `${file}: ${key} is deprecated and ignored (${DEPRECATED_EXPORTER_KEYS[key]}); delete it from the file`);
}

/** The old timeout stands for the new one when only the old is set (and is then checked as the new one). */
function migrateTimeout(json: Record<string, unknown>): Record<string, unknown> {
  const { systemctl_timeout_seconds: old, ...rest } = json;
  return old === undefined || Object.hasOwn(rest, 'dbus_timeout_seconds') ? rest : { ...rest, dbus_timeout_seconds: old };
}

/** The file's values, checked, with the listen address parsed and the trip rules compiled (once, here). */
export interface ExporterSettings extends FileSettings {
  readonly listenAddress: ListenAddress;
  readonly tripRules: readonly TripRule[];
}

/**
 * Validates the parsed JSON of the exporter's own config file against the contract's schema (unknown
 * keys are refused), then what a schema cannot say: the listen address and the trip rules' matchers.
 */
export function parseExporterSettings(json: unknown, file: string): ExporterSettings {
  const migrated = typeof json === 'object' && json !== null && !Array.isArray(json) ? migrateTimeout(json as Record<string, unknown>) : json;
  if (!validateExporterConfigFile(migrated)) {
    const [first] = schemaProblemList(validateExporterConfigFile, '(top level)');
    throw new ConfigError(file, first?.key ?? '(top level)', first?.problem ?? 'does not match the contract');
  }
  const settings = { ...DEFAULT_SETTINGS, ...withoutDeprecated(migrated) };
  const listenAddress = parseListenAddress(settings.listen);
  if (typeof listenAddress === 'string') throw new ConfigError(file, 'listen', listenAddress);
  try {
    return { ...settings, listenAddress, tripRules: parseTripRules(settings.trip_rules) };
  } catch (error) {
    if (error instanceof TripRuleError) throw new ConfigError(file, `trip_rules${error.at}`, error.message, { cause: error });
    throw error;
  }
}

function withoutDeprecated(json: ExporterConfigFile): Partial<FileSettings> {
  return Object.fromEntries(Object.entries(json).filter(([key]) => !Object.hasOwn(DEPRECATED_EXPORTER_KEYS, key))) as Partial<FileSettings>;
}

/** The exporter config file's text, checked, and the deprecated keys it still carries. */
export interface ExporterFile {
  readonly settings: ExporterSettings;
  readonly deprecations: readonly string[];
}

/** The text of the exporter config file (undefined: no file at its default location: all defaults). */
export function parseExporterFile(text: string | undefined, file: string): ExporterFile {
  if (text === undefined) return { settings: parseExporterSettings({}, file), deprecations: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, '(syntax)', `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return { settings: parseExporterSettings(json, file), deprecations: deprecationsOf(json, file) };
}

/** Every value of the config but the ess.conf's, and where that is read from (required: named by the user). */
export type ExporterValues = Omit<ExporterConfig, 'ess'> & { readonly essConfigRequired: boolean };

/**
 * The file's settings with the command line's values over them, checked together (who may reach the
 * listener, the host name). A missing ess.conf is only accepted at its default location.
 */
export function exporterValues({ settings, deprecations }: ExporterFile, file: string, overrides: ConfigOverrides = {}): ExporterValues {
  if (overrides.essConfigFile !== undefined) {
    const problem = absolutePathProblem(overrides.essConfigFile);
    if (problem !== undefined) throw new ConfigError('command line', '--ess-config', problem);
  }
  let listen = settings.listenAddress;
  if (overrides.listen !== undefined) {
    const parsed = parseListenAddress(overrides.listen);
    if (typeof parsed === 'string') throw new ConfigError('command line', '--listen', parsed);
    listen = parsed;
  }
  const listenKey = overrides.listen === undefined ? 'listen' : '--listen';
  const { web, legacyTls: legacy } = checkTransport(settings, listen, listenKey, file, overrides.webConfig);
  const host = settings.host ?? defaultHost();
  // the kernel's name can be an FQDN longer than a label allows, or carry other characters
  if (settings.host === null && hostProblem(host) !== undefined) {
    throw new ConfigError(file, 'host', `not set, and this machine's host name ${JSON.stringify(host)} is not a valid one: set host`);
  }
  return {
    listen,
    listenSource: { file: overrides.listen === undefined ? file : 'command line', key: listenKey },
    systemBusAddress: settings.system_bus_address,
    dbusTimeoutMs: Math.round(settings.dbus_timeout_seconds * 1000),
    essConfigFile: overrides.essConfigFile ?? settings.ess_config_file,
    telemetryPath: checkTelemetryPath(overrides.telemetryPath ?? DEFAULT_TELEMETRY_PATH),
    essConfigRequired: overrides.essConfigFile !== undefined || settings.ess_config_file !== DEFAULT_ESS_CONFIG_FILE,
    webhook: webhookSettings(settings, settings.tripRules, { host, groups: settings.groups }),
    web,
    legacyTls: legacy,
    configFile: file,
    allowPlainHttpToken: settings.allow_plain_http_token,
    deprecations: settings.tls_cert_file === null ? deprecations : [...deprecations, legacyTlsDeprecation(file)],
  };
}

/** The whole config, in the order --check-config prints it. */
export function exporterConfig(values: ExporterValues, ess: EssConf): ExporterConfig {
  const { listen, listenSource, systemBusAddress, dbusTimeoutMs, essConfigFile, webhook, telemetryPath, web, legacyTls, configFile, allowPlainHttpToken, deprecations } = values;
  return { listen, listenSource, systemBusAddress, dbusTimeoutMs, ess, essConfigFile, webhook, telemetryPath, web, legacyTls, configFile, allowPlainHttpToken, deprecations };
}

function legacyTlsDeprecation(file: string): string {
  return (
    `${file}: tls_cert_file and tls_key_file are deprecated and will be removed in the next release: ` +
    'move them to a --web.config.file (tls_server_config: cert_file, key_file), the file every Prometheus exporter reads'
  );
}

/** The exporter config's tls_cert_file and tls_key_file, as the tls_server_config they stand for this release. */
function legacyTls(certFile: string, keyFile: string): WebTls {
  return {
    cert: { key: 'tls_cert_file', file: certFile },
    key: { key: 'tls_key_file', file: keyFile },
    clientAuth: 'NoClientCert',
    clientCa: null,
    clientAllowedSans: null,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: null,
    honorCipherOrder: true,
    ecdhCurve: null,
  };
}

/**
 * The web config in force: the --web.config.file's, with the exporter config's deprecated TLS pair as
 * its tls_server_config when the file has none (an upgraded host keeps its HTTPS listener while its
 * web config file is still the shipped, empty one). Both giving TLS is refused: which would be meant?
 */
export function mergeWebConfig(webConfig: WebConfig | undefined, legacy: WebTls | null, file: string): WebConfig {
  if (legacy === null) return webConfig ?? plainWebConfig(file);
  if (webConfig?.tls) {
    throw new ConfigError(file, 'tls_cert_file', `set, and --web.config.file ${webConfig.file} has tls_server_config: keep the TLS settings there only`);
  }
  return { ...(webConfig ?? plainWebConfig(file)), tls: legacy };
}

/**
 * Who may reach the listener and how the token travels. Off loopback a token is mandatory (anyone who
 * can reach the port could trip the ESS), and it must not cross the network in clear text unless
 * allow_plain_http_token says so.
 */
function checkTransport(
  settings: FileSettings,
  listen: ListenAddress,
  listenKey: string,
  file: string,
  webConfig: WebConfig | undefined,
): { readonly web: WebConfig; readonly legacyTls: WebTls | null } {
  const { tls_cert_file: certFile, tls_key_file: keyFile } = settings;
  if ((certFile === null) !== (keyFile === null)) {
    const missing = certFile === null ? 'tls_cert_file' : 'tls_key_file';
    throw new ConfigError(file, missing, `required: tls_cert_file and tls_key_file are set together or not at all`);
  }
  const legacy = certFile !== null && keyFile !== null ? legacyTls(certFile, keyFile) : null;
  const web = mergeWebConfig(webConfig, legacy, file);
  checkExposure(listen, { tokenFile: settings.webhook_token_file, tls: web.tls !== null, allowPlainHttpToken: settings.allow_plain_http_token }, listenKey, file);
  return { web, legacyTls: legacy };
}

/**
 * With the dead man's switch on (WATCHDOG_ACTION alert or trip in ess.conf), a heartbeat is only as good
 * as who may post one: without a token any local user could post heartbeats to the loopback receiver
 * and keep the switch quiet while the monitoring is dead. So a token is required then, on loopback too.
 */
export function checkHeartbeatNeedsToken(config: ExporterConfig, file: string): void {
  const action = config.ess.values.WATCHDOG_ACTION;
  if (action === 'off' || config.webhook.tokenFile !== null) return;
  throw new ConfigError(
    file,
    'webhook_token_file',
    `required: WATCHDOG_ACTION=${action} in ${config.essConfigFile}, and without a token any local user could post ` +
      'heartbeats and keep the dead man\'s switch quiet; set webhook_token_file, or WATCHDOG_ACTION=off',
  );
}

/** What decides whether an address may be served on: a token, and how it travels. */
export interface Exposure {
  readonly tokenFile: string | null;
  /** HTTPS (tls_server_config, or the deprecated tls_cert_file and tls_key_file). */
  readonly tls: boolean;
  readonly allowPlainHttpToken: boolean;
}

/**
 * Off loopback a token is mandatory (anyone who can reach the port could trip the ESS), and it must
 * not cross the network in clear text unless allow_plain_http_token says so. Judged on the configured
 * address at load, and again on the address actually bound (a host name, a socket passed by systemd).
 */
export function checkExposure(listen: ListenAddress, exposure: Exposure, listenKey: string, file: string): void {
  if (isLoopbackHost(listen.host)) return;
  const where = `${listenKey} ${formatListenAddress(listen)} is not a loopback address`;
  if (exposure.tokenFile === null) {
    throw new ConfigError(file, 'webhook_token_file', `required: ${where}, and anyone who can reach it could trip the ESS`);
  }
  if (!exposure.tls && !exposure.allowPlainHttpToken) {
    throw new ConfigError(
      file,
      'tls_cert_file',
      `required with tls_key_file: ${where} and webhook_token_file is set, so the token would cross the network ` +
        'in clear text over plain HTTP; serve HTTPS (tls_server_config in a --web.config.file), or allow_plain_http_token: true ' +
        'to accept that knowingly',
    );
  }
}
