import { type Identity, isIdentityName } from '../config/identity.js';
import type { Labels } from '../config/matchers.js';

/** The labels that scope a trip alert (the fleet's shared names). */
export const SCOPE_LABELS = { host: 'ess_host', group: 'ess_group', scope: 'ess_scope' } as const;

export type ScopeKind = 'fleet' | 'group' | 'host' | 'invalid';
export type ScopeDecision = 'trip' | 'other_target' | 'invalid';

export interface TripScope {
  readonly kind: ScopeKind;
  readonly decision: ScopeDecision;
  /**
   * What the trip request and the controller's audit record: `fleet`, `group:NAME` or `host:NAME`
   * (with both labels, the host: the narrower), or `unscoped` for an alert with no scope label at
   * all (it trips every host that receives it, as `fleet` does, but nobody said "fleet": on a single
   * host the log then says what was given). For an invalid scope, why, for the log.
   */
  readonly text: string;
}

/** Prometheus semantics: an empty label value is no label. */
function label(labels: Labels, name: string): string | undefined {
  const value = Object.hasOwn(labels, name) ? labels[name] : undefined;
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Whether an alert that matched a trip rule trips this host. ess_host trips only the host of that name,
 * ess_group only hosts in that group, both only a host that is both; ess_scope="fleet" or none of the
 * three trips every host that receives it (names, and the value fleet, compared without regard to case,
 * a host's short name naming its fully qualified one and back: sameHost). ess_scope="fleet" next to ess_host or ess_group does not
 * widen them: a host never trips on an alert scoped to someone else. Any other ess_scope value, and
 * a host or group value no host can have, are invalid: they trip nobody (the alert is misconfigured,
 * and guessing would stop hosts it was not meant for, or miss the one it was).
 */
export function decideTripScope(labels: Labels, identity: Identity): TripScope {
  const host = label(labels, SCOPE_LABELS.host);
  const group = label(labels, SCOPE_LABELS.group);
  const scope = label(labels, SCOPE_LABELS.scope);
  // compared as host and group names are (sameName): Fleet is fleet; recorded as `fleet` either way
  if (scope !== undefined && !sameName(scope, 'fleet')) {
    return invalid(`${SCOPE_LABELS.scope}=${JSON.stringify(scope)} is not "fleet"`);
  }
  if (host !== undefined && !isIdentityName(host)) return invalid(`${SCOPE_LABELS.host}=${JSON.stringify(host)} is not a host name`);
  if (group !== undefined && !isIdentityName(group)) return invalid(`${SCOPE_LABELS.group}=${JSON.stringify(group)} is not a group name`);
  const inGroup = (name: string): boolean => identity.groups.some((mine) => sameName(mine, name));
  if (host !== undefined) {
    const mine = sameHost(host, identity.host) && (group === undefined || inGroup(group));
    return { kind: 'host', decision: mine ? 'trip' : 'other_target', text: `host:${host}` };
  }
  if (group !== undefined) {
    return { kind: 'group', decision: inGroup(group) ? 'trip' : 'other_target', text: `group:${group}` };
  }
  return { kind: 'fleet', decision: 'trip', text: scope === undefined ? 'unscoped' : 'fleet' };
}

/**
 * Host names compare as DNS does, without regard to ASCII case: the default identity is the kernel's
 * host name, and an alert saying TRADING-01 for trading-01 means it. Groups follow hosts. Names are
 * ASCII (isIdentityName), so toLowerCase is exact.
 */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * A host is named by its short name or its fully qualified one: the names are the same (sameName), or
 * one of them is short (no dot) and is the other's first label. `h1.example.internal` names the host
 * whose identity is `h1`, and `h1` the host whose identity is `h1.example.internal`; two qualified names
 * must be the same (`h1.dc1` is not `h1.dc2`). A short name thus trips every host with that first
 * label: the safe direction.
 */
export function sameHost(a: string, b: string): boolean {
  if (sameName(a, b)) return true;
  const short = (name: string): boolean => !name.includes('.');
  const first = (name: string): string => name.slice(0, name.indexOf('.'));
  if (short(a) && !short(b)) return sameName(a, first(b));
  if (short(b) && !short(a)) return sameName(b, first(a));
  return false;
}

function invalid(why: string): TripScope {
  return { kind: 'invalid', decision: 'invalid', text: why };
}
