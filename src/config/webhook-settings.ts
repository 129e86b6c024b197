import type { TripRule } from './trip-rules.js';
import type { Identity } from './identity.js';

/** The webhook part of the exporter config; the token itself is read at start-up (src/webhook/webhook-token.ts). */
export interface WebhookSettings {
  /** null: no token file, accepted on a loopback listen address only. */
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

/** The webhook keys as the receiver uses them, with the trip rules compiled when the file was checked. */
export function webhookSettings(settings: WebhookFileSettings, tripRules: readonly TripRule[], identity: Identity): WebhookSettings {
  return {
    tokenFile: settings.webhook_token_file,
    bodyLimitBytes: settings.webhook_body_limit_bytes,
    dryRun: settings.webhook_dry_run,
    tripRules,
    identity,
  };
}
