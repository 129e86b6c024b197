import { hostname } from 'node:os';
import { IDENTITY_NAME_PATTERN } from '../contract/values.generated.js';

/**
 * Who this receiver is in a fleet: alerts scoped with ess_host or ess_group trip only the hosts they
 * name (src/webhook/trip-scope.ts). A name is what Prometheus labels and the controller's journal
 * can carry unquoted, and what the root side accepts in a trip request's scope line.
 */
export interface Identity {
  readonly host: string;
  readonly groups: readonly string[];
}

/** The contract's rule (contract/exporter-config.schema.json, host). */
export const IDENTITY_NAME = new RegExp(IDENTITY_NAME_PATTERN);

export const IDENTITY_NAME_RULE = IDENTITY_NAME_PATTERN.slice(1, -1);

export function isIdentityName(value: unknown): value is string {
  return typeof value === 'string' && IDENTITY_NAME.test(value);
}

/** The default host name: the kernel's, which may be a longer FQDN or hold other characters. */
export function defaultHost(): string {
  return hostname();
}

export function hostProblem(value: unknown): string | undefined {
  return isIdentityName(value) ? undefined : `${JSON.stringify(value)} is not a host name (${IDENTITY_NAME_RULE})`;
}
