import { readBuildInfo, versionLine } from './io/build-info.js';
import { parseCli, USAGE, UsageError } from './cli.js';
import { ConfigError } from './config/config-error.js';
import { formatListenAddress } from './config/listen-address.js';
import { startServer } from './http/server.js';
import { SystemdSocketError, takeSystemdSocket } from './http/systemd-socket.js';
import { describe, journalLog, makeLog, type Log } from './io/log.js';
import { pathOwnerProblem } from './io/path-owners.js';
import { type LoadedConfig, loadExporterConfig } from './load-config.js';
import { UnprivilegedSide } from './unprivileged-side.js';

const EX_USAGE = 64;
// today's plain line until the command line names a level and format
let log: Log = journalLog;
const EX_CONFIG = 78;

type RunCommand = Extract<ReturnType<typeof parseCli>, { kind: 'run' | 'check-config' }>;

/** The configuration, with the keys of an earlier version it still carries said as warnings. */
async function loadConfig(command: RunCommand): ReturnType<typeof loadExporterConfig> {
  const config = await loadExporterConfig(command.configFile, command.configFileGiven, {
    ...(command.listen !== undefined && { listen: command.listen }),
    ...(command.essConfigFile !== undefined && { essConfigFile: command.essConfigFile }),
    ...(command.webConfigFile !== undefined && { webConfigFile: command.webConfigFile }),
    ...(command.telemetryPath !== undefined && { telemetryPath: command.telemetryPath }),
  });
  for (const deprecation of config.deprecations) log(deprecation, 'warning');
  return config;
}

/**
 * --check-config only: the path keys of ess.conf judged on this host (a non-root owner or writer of a
 * path or a directory above it could replace what root writes or reads there). Never at start-up: the
 * exporter reports, it does not guard the root side's files.
 */
async function checkPathOwners(config: Awaited<ReturnType<typeof loadExporterConfig>>): Promise<void> {
  for (const key of ['FLAG_FILE', 'LOCK_FILE', 'STATE_DIR', 'AUDIT_FILE', 'SPOOL_DIR'] as const) {
    const problem = await pathOwnerProblem(config.ess.values[key]);
    if (problem !== null) throw new ConfigError(config.essConfigFile, key, problem);
  }
}

/** The web config as --check-config and the start-up line show it: names and policies, never a key or a hash. */
function describeWebConfig(web: LoadedConfig['web']): Record<string, unknown> {
  const { tls } = web;
  const source = (pem: { key: string } & ({ file: string } | { pem: string })): string => ('file' in pem ? pem.file : `${pem.key} (inline)`);
  return {
    file: web.file,
    tls:
      tls === null
        ? null
        : { cert: source(tls.cert), key: source(tls.key), client_auth_type: tls.clientAuth, client_ca: tls.clientCa && source(tls.clientCa), min_version: tls.minVersion, max_version: tls.maxVersion },
    basic_auth_users: [...web.basicAuthUsers.keys()],
    headers: Object.keys(web.headers),
    rate_limit: web.rateLimit,
  };
}

/** The start-up line's account of the web config: what guards the listener. */
function webLine(web: LoadedConfig['web']): string {
  const { tls } = web;
  const parts = web.reloadable ? [`; web config ${web.file}`] : [];
  if (tls !== null) {
    const { cert, key } = describeWebConfig(web).tls as { cert: string; key: string };
    parts.push(`; TLS certificate ${cert}, key ${key}, client certificates ${tls.clientAuth} (reloaded on change and SIGHUP)`);
  }
  if (web.basicAuthUsers.size > 0) parts.push(`; basic authentication (${web.basicAuthUsers.size} user(s)) on every path but the webhook's`);
  return parts.join('');
}

/** --log.level and --log.format in force from here on; the deprecated option names said. */
function useLogOptions(command: ReturnType<typeof parseCli>): void {
  if (command.kind !== 'run' && command.kind !== 'check-config') return;
  log = makeLog({ level: command.logLevel, ...(command.logFormat !== undefined && { format: command.logFormat }) });
  for (const deprecation of command.deprecations) log(deprecation, 'warning');
}

async function main(argv: readonly string[]): Promise<number> {
  const command = parseCli(argv);
  useLogOptions(command);
  const buildInfo = readBuildInfo();
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(versionLine(buildInfo));
    return 0;
  }

  const config = await loadConfig(command);
  if (command.kind === 'check-config') {
    await checkPathOwners(config);
    const web = describeWebConfig(config.web);
    process.stdout.write(`${JSON.stringify({ ...config, listen: formatListenAddress(config.listen), web }, null, 2)}\n`);
    return 0;
  }

  // taken first: a missing socket must fail before anything else starts
  const socketFd = command.systemdSocket ? takeSystemdSocket() : undefined;
  const side = new UnprivilegedSide(config, buildInfo, log);
  await side.start();
  const server = await startServer(side.served(), config.listen, buildInfo.version, undefined, socketFd);
  side.webhook.metrics.listenerFromSystemd = socketFd !== undefined;
  log(
    `${buildInfo.version} serving ${server.protocol}://${formatListenAddress(server.address)}${config.telemetryPath} ` +
      `(${socketFd === undefined ? 'bound by this process' : 'socket held by systemd, quantum-ess-exporter.socket'}); flag ${config.ess.flagFile}, ` +
      `state ${side.stateFile.path}, ${side.units.length} units`,
  );
  const { webhook } = config;
  log(
    `fleet identity: host ${webhook.identity.host}, groups ${webhook.identity.groups.join(',') || '(none)'}` +
      webLine(config.web),
  );
  log(
    `webhook POST /alertmanager: ${webhook.tripRules.length} trip rule(s) ${webhook.tripRules.map((rule) => `{${rule.join(', ')}}`).join(' ')}; ` +
      `${webhook.tokenFile === null ? 'no token file: requests without credentials accepted (loopback only)' : `token from ${webhook.tokenFile}`}; ` +
      `trip requests into ${config.ess.spoolDir}/incoming${webhook.dryRun ? '; DRY RUN: nothing will be written' : ''}`,
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log(`${signal}: shutting down`);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // a renewed certificate without a restart (a restart would drop the deliveries in progress)
    process.on('SIGHUP', () => {
      if (config.web.tls === null && !config.web.reloadable) log('SIGHUP: no TLS or web config file, nothing to reload');
      else void server.reloadWeb('SIGHUP');
    });
  });
  await server.close();
  await side.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`ess-exporter: ${error.message}\n\n${USAGE}`);
      process.exitCode = EX_USAGE;
    } else if (error instanceof ConfigError || error instanceof SystemdSocketError) {
      log(error.message, 'error');
      process.exitCode = EX_CONFIG;
    } else {
      log(`fatal: ${describe(error)}`, 'error');
      process.exitCode = 1;
    }
    // The flag watch and timers would keep a half-started exporter alive, "active (running)" and
    // serving nothing (or leaving the port to whoever took it): exit, so systemd sees the failure.
    process.exit();
  },
);
