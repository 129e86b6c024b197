import { readFile } from 'node:fs/promises';
import { checkHeartbeatNeedsToken, type ConfigOverrides, type ExporterConfig, exporterConfig, exporterValues, parseExporterFile } from './config/exporter-config.js';
import { ConfigError } from './config/config-error.js';
import { type EssConf, parseEssConf } from './config/ess-conf.js';
import { parseWebConfig, type WebConfig } from './config/web-config.js';
import { loadTlsPair, TlsPairError } from './http/tls-pair.js';
import type { ReceiverSettings } from './webhook/receiver.js';
import { loadWebhookToken } from './webhook/webhook-token.js';

/** The config with what its files hold: the webhook token read, the certificate pair checked. */
export interface LoadedConfig extends ExporterConfig {
  readonly webhook: ReceiverSettings;
}

/**
 * A config file's text. Only a file not asked for (at its default location: a development box) may be
 * missing (undefined: all defaults); one named explicitly must exist.
 */
async function readConfigText(file: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(file, 'file', `cannot be read (${(error as Error).message})`, { cause: error });
  }
}

/** ess.conf, read and validated; no file at the default location means "all defaults", as for the controller. */
export async function loadEssConf(file: string, required: boolean): Promise<EssConf> {
  return parseEssConf((await readConfigText(file, required)) ?? '', file);
}

/** A --web.config.file, read and checked (the files it names are read by checkWebFiles). */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  return await parseWebConfig((await readConfigText(file, true)) ?? '', file);
}

/** The certificate, key and client CAs the web config names, read once so a bad one stops the start with its key named. */
async function checkWebFiles(web: WebConfig): Promise<void> {
  if (web.tls === null) return;
  try {
    await loadTlsPair(web.tls);
  } catch (error) {
    if (error instanceof TlsPairError) throw new ConfigError(web.file, error.which, error.message, { cause: error });
    throw error;
  }
}

/** What the command line gives besides the config file. */
export interface CommandLineValues extends Omit<ConfigOverrides, 'webConfig'> {
  readonly webConfigFile?: string;
}

/**
 * Everything the exporter starts from, read once at start-up (and by --check-config): the config, the
 * ess.conf it points to, the web config, the token, and the certificate pair, so a bad pair or token
 * stops the start with its key named. The server reads the pair again when it starts (and on every reload).
 */
export async function loadExporterConfig(file: string, fileRequired: boolean, commandLine: CommandLineValues = {}): Promise<LoadedConfig> {
  const { webConfigFile, ...rest } = commandLine;
  const overrides: ConfigOverrides = { ...rest, ...(webConfigFile !== undefined && { webConfig: await loadWebConfig(webConfigFile) }) };
  const values = exporterValues(parseExporterFile(await readConfigText(file, fileRequired), file), file, overrides);
  const config = exporterConfig(values, await loadEssConf(values.essConfigFile, values.essConfigRequired));
  checkHeartbeatNeedsToken(config, file);
  await checkWebFiles(config.web);
  const { tokenFile } = config.webhook;
  // token first: --check-config prints the config, in the order it always had
  const webhook = { token: tokenFile === null ? null : await loadWebhookToken(tokenFile, file), ...config.webhook };
  return { ...config, webhook };
}
