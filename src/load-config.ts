import { readExporterConfig, type ConfigOverrides, type ExporterConfig } from './config/exporter-config.js';
import { ConfigError } from './config/config-error.js';
import { loadTlsPair, TlsPairError } from './http/tls-pair.js';
import type { ReceiverSettings } from './webhook/receiver.js';
import { loadWebhookToken } from './webhook/webhook-token.js';

/** The config with what its files hold: the webhook token read, the certificate pair checked. */
export interface LoadedConfig extends ExporterConfig {
  readonly webhook: ReceiverSettings;
}

/**
 * Everything the exporter starts from, read once at start-up (and by --check-config): the config, the
 * ess.conf it points to, the token, and the certificate pair, so a bad pair or token stops the start
 * with its key named. The server reads the pair again when it starts (and on every reload).
 */
export async function loadExporterConfig(file: string, fileRequired: boolean, overrides: ConfigOverrides = {}): Promise<LoadedConfig> {
  const config = await readExporterConfig(file, fileRequired, overrides);
  if (config.tls !== null) {
    try {
      await loadTlsPair(config.tls);
    } catch (error) {
      if (error instanceof TlsPairError) throw new ConfigError(file, error.which, error.message, { cause: error });
      throw error;
    }
  }
  const { tokenFile } = config.webhook;
  // token first: --check-config prints the config, in the order it always had
  const webhook = { token: tokenFile === null ? null : await loadWebhookToken(tokenFile, file), ...config.webhook };
  return { ...config, webhook };
}
