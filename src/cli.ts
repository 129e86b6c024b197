import { parseArgs } from 'node:util';
import { DEFAULT_EXPORTER_CONFIG_FILE, DEFAULT_LISTEN } from './config/exporter-config.js';

export const USAGE = `Usage: ess-exporter [OPTIONS]

Prometheus exporter of the Quantum Emergency Stop System, and its Alertmanager webhook receiver. It
never changes the latch: a trip only drops a request into the spool for the root side.

Options:
  --config FILE       exporter config (JSON; default ${DEFAULT_EXPORTER_CONFIG_FILE}, optional
                      only at that default location)
  --listen HOST:PORT  address to serve on (default ${DEFAULT_LISTEN}; IPv6 as [ADDR]:PORT)
  --ess-config FILE   the controller's ess.conf (default /etc/quantum/ess.conf)
  --systemd-socket    serve on the listening socket systemd passes (quantum-ess-exporter.socket,
                      LISTEN_FDS), which must be bound to the configured address; without one,
                      exit 78 instead of binding the port itself
  --check-config      validate the configuration, print it and exit
  --version           print the version and exit
  --help              this text

Endpoints: GET / (landing page), GET /metrics, GET /healthz (503 while a read is failing),
POST /alertmanager (webhook receiver; Authorization: Bearer <token of webhook_token_file>).
HTTPS when tls_cert_file and tls_key_file are set; both files are re-read when they change and on
SIGHUP (systemctl reload), a pair that does not match keeps the old one. Off loopback a token is
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
      readonly systemdSocket: boolean;
    };

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCli(argv: readonly string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'ess-config': { type: 'string' },
        'check-config': { type: 'boolean' },
        'systemd-socket': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  return {
    kind: values['check-config'] ? 'check-config' : 'run',
    configFile: values.config ?? DEFAULT_EXPORTER_CONFIG_FILE,
    configFileGiven: values.config !== undefined,
    ...(values.listen !== undefined && { listen: values.listen }),
    ...(values['ess-config'] !== undefined && { essConfigFile: values['ess-config'] }),
    systemdSocket: values['systemd-socket'] === true,
  };
}
