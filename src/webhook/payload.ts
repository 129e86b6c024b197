import type * as contract from '../contract/types.generated.js';
import { schemaProblems } from '../contract/schema-validator.js';
import { validateWebhookPayload } from '../contract/validators.generated.js';

/** Alertmanager's webhook payload, version "4" (contract/webhook-payload.schema.json). */
export type WebhookPayload = Readonly<contract.WebhookPayload>;
export type WebhookAlert = Readonly<contract.Alert>;

export type PayloadResult =
  | { readonly ok: true; readonly payload: WebhookPayload }
  | { readonly ok: false; readonly details: readonly string[] };

/**
 * Checks a parsed JSON body against the contract's schema. Unknown members are ignored (newer
 * Alertmanagers add some); known ones must have exactly the documented type. A refusal names the
 * first problem only: a payload with thousands of bad alerts costs one short pass and a short answer.
 */
export function parsePayload(json: unknown): PayloadResult {
  if (validateWebhookPayload(json)) return { ok: true, payload: json };
  return { ok: false, details: schemaProblems(validateWebhookPayload, '(body)') };
}
