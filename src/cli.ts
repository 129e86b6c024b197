import { parseArgs } from 'node:util';
import { DEFAULT_EXPORTER_CONFIG_FILE, DEFAULT_LISTEN } from './config/exporter-config.js';
import type { LogFormat, LogLevel } from './io/log.js';

export const USAGE = `Usage: quantum-ess-exporter [OPTIONS]

Prometheus exporter of the Quantum Emergency Stop System, and its Alertmanager webhook receiver. It
never changes the latch: a trip only drops a request into the spool for the root side.

Options (named as every Prometheus exporter names them):
  --config.file FILE  exporter config (JSON; default ${DEFAULT_EXPORTER_CONFIG_FILE}, optional
                      only at that default location)
  --web.listen-address HOST:PORT
                      address to serve on (default ${DEFAULT_LISTEN}; IPv6 as [ADDR]:PORT)
  --web.telemetry-path PATH
                      where the metrics are served (default /metrics)
  --web.config.file FILE
                      TLS and basic authentication, in the web configuration file format of
                      every Prometheus exporter (tls_server_config, http_server_config,
                      basic_auth_users, rate_limit; see docs/exporter.md); read again when it or
                      a file it names changes, and on SIGHUP. Basic authentication guards every
                      path but the webhook, which keeps its bearer token
  --log.level LEVEL   info (default), warn or error: the lowest priority logged
  --log.format FORMAT logfmt (level=... msg=...) or json (one JSON object per line); without
                      it, a plain line. Each has journald's priority prefix on warnings and
                      errors (journalctl -p warning shows them all)
  --ess-config FILE   the controller's ess.conf (default /etc/quantum/ess.conf)
  --systemd-socket    serve on the listening socket systemd passes (quantum-ess-exporter.socket,
                      LISTEN_FDS), which must be bound to the configured address; without one,
                      exit 78 instead of binding the port itself
  --check-config      validate the configuration, print it and exit
  --version           print the version and build and exit
  --help              this text
  --config FILE, --listen HOST:PORT
                      deprecated names of --config.file and --web.listen-address (still read
                      for this release, with a warning)

Endpoints: GET / (landing page), GET /metrics (--web.telemetry-path), GET /healthz (503 while a read is failing),
POST /alertmanager (webhook receiver; Authorization: Bearer <token of webhook_token_file>).
HTTPS when the web config has tls_server_config (the config's tls_cert_file and tls_key_file are
deprecated, still read for this release); the files are re-read when they change and on SIGHUP
(systemctl reload), a file or pair that is wrong keeps the settings in use. Off loopback a token is
required, and over plain HTTP only with allow_plain_http_token. Alerts labelled ess_host or
ess_group trip only the host (config host, default the host name) or groups (config groups) named.
Exit codes: 0 ok; 1 runtime failure (e.g. the address is in use); 64 usage; 78 bad configuration.
`;

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run' | 'check-config';
      readonly configFile: string;
      readonly configFileGiven: boolean;
      readonly listen?: string;
      readonly essConfigFile?: string;
      readonly webConfigFile?: string;
      readonly telemetryPath?: string;
      readonly systemdSocket: boolean;
      readonly logLevel: LogLevel;
      /** Absent: today's plain line. */
      readonly logFormat?: LogFormat;
      /** One warning per deprecated option name used. */
      readonly deprecations: readonly string[];
    };

export class UsageError extends Error {
  override name = 'UsageError';
}

const LOG_LEVELS: readonly LogLevel[] = ['info', 'warn', 'error'];
const LOG_FORMATS: readonly LogFormat[] = ['logfmt', 'json'];
/** Today's option names, read for one more release, and the ecosystem's names that replace them. */
const RENAMED = { config: 'config.file', listen: 'web.listen-address' } as const;

const STRING_OPTIONS = ['config.file', 'web.listen-address', 'web.config.file', 'web.telemetry-path', 'log.level', 'log.format', 'ess-config', 'config', 'listen'] as const;
type StringOption = (typeof STRING_OPTIONS)[number];

/** Each option's value; one given twice is a usage error (which of two addresses was meant?). */
function single(values: Record<string, unknown>, name: StringOption): string | undefined {
  const given = values[name] as string[] | undefined;
  if (given === undefined) return undefined;
  if (given.length > 1) throw new UsageError(`--${name} given ${given.length} times; give it once`);
  return given[0];
}

/** The value under its new name or its deprecated one (never both); the deprecation said. */
function renamed(values: Record<string, unknown>, old: keyof typeof RENAMED, deprecations: string[]): string | undefined {
  const current = single(values, RENAMED[old]);
  const legacy = single(values, old);
  if (legacy === undefined) return current;
  if (current !== undefined) throw new UsageError(`--${old} and --${RENAMED[old]} name the same setting; give --${RENAMED[old]} only`);
  deprecations.push(`--${old} is deprecated and will be removed in the next release: use --${RENAMED[old]}`);
  return legacy;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name}: '${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}

export function parseCli(argv: readonly string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string', multiple: true }] as const)),
        'check-config': { type: 'boolean' },
        'systemd-socket': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const deprecations: string[] = [];
  const configFile = renamed(values, 'config', deprecations);
  const listen = renamed(values, 'listen', deprecations);
  const essConfigFile = single(values, 'ess-config');
  const webConfigFile = single(values, 'web.config.file');
  const telemetryPath = single(values, 'web.telemetry-path');
  const logFormat = oneOf('log.format', single(values, 'log.format'), LOG_FORMATS);
  return {
    kind: values['check-config'] === true ? 'check-config' : 'run',
    configFile: configFile ?? DEFAULT_EXPORTER_CONFIG_FILE,
    configFileGiven: configFile !== undefined,
    ...(listen !== undefined && { listen }),
    ...(essConfigFile !== undefined && { essConfigFile }),
    ...(webConfigFile !== undefined && { webConfigFile }),
    ...(telemetryPath !== undefined && { telemetryPath }),
    systemdSocket: values['systemd-socket'] === true,
    logLevel: oneOf('log.level', single(values, 'log.level'), LOG_LEVELS) ?? 'info',
    ...(logFormat !== undefined && { logFormat }),
    deprecations,
  };
}
