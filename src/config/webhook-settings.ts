import { readFile } from 'node:fs/promises';
import { parseTripRules, type TripRule } from '../webhook/trip-rules.js';
import { WebhookToken } from '../webhook/webhook-token.js';
import { ConfigError } from './config-error.js';
import type { Identity } from './identity.js';

/** The webhook part of the exporter config. */
export interface WebhookSettings {
  /** null: no token file, accepted on a loopback listen address only. */
  readonly token: WebhookToken | null;
  readonly tokenFile: string | null;
  readonly bodyLimitBytes: number;
  readonly dryRun: boolean;
  readonly tripRules: readonly TripRule[];
  /** This receiver's host name and groups: what ess_host and ess_group are compared with. */
  readonly identity: Identity;
}

/** The webhook keys of the exporter config file, already validated. */
export interface WebhookFileSettings {
  readonly webhook_token_file: string | null;
  readonly webhook_body_limit_bytes: number;
  readonly webhook_dry_run: boolean;
  readonly trip_rules: readonly (readonly string[])[];
  /** null: the machine's host name (resolved by the caller). */
  readonly host: string | null;
  readonly groups: readonly string[];
}

/** Reads the token file, the one part of the webhook settings that is not in the config file itself. */
export async function loadWebhookSettings(settings: WebhookFileSettings, configFile: string, identity: Identity): Promise<WebhookSettings> {
  const tokenFile = settings.webhook_token_file;
  return {
    token: tokenFile === null ? null : await loadWebhookToken(tokenFile, configFile),
    tokenFile,
    bodyLimitBytes: settings.webhook_body_limit_bytes,
    dryRun: settings.webhook_dry_run,
    // Validated by parseExporterSettings already; parsed again here to get the compiled matchers.
    tripRules: parseTripRules(settings.trip_rules),
    identity,
  };
}

/**
 * Read once at start-up; surrounding whitespace is dropped as Alertmanager does for its
 * credentials_file, so both sides use the same secret whatever newline the file ends with.
 */
async function loadWebhookToken(tokenFile: string, configFile: string): Promise<WebhookToken> {
  let text: string;
  try {
    text = await readFile(tokenFile, 'utf8');
  } catch (error) {
    throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} cannot be read (${(error as Error).message})`, { cause: error });
  }
  const secret = text.trim();
  if (secret === '') throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} is empty`);
  if (!/^[\x21-\x7e]+$/.test(secret)) {
    throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} must hold one token of printable ASCII without blanks`);
  }
  return new WebhookToken(secret);
}
