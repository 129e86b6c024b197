import { Gauge, type Registry } from 'prom-client';
import type { Identity } from '../config/identity.js';

/**
 * Set once from the config: lets Prometheus map an instance (an address) to the host and groups that
 * ess_host and ess_group alerts name, e.g. `ess_active * on(instance) group_left(host) ess_identity_info`.
 */
export function registerIdentityMetric(registry: Registry, identity: Identity): void {
  const info = new Gauge({
    name: 'ess_identity_info',
    help: 'This receiver\'s fleet identity: host (matched by ess_host) and groups (comma-separated, matched by ess_group); always 1.',
    labelNames: ['host', 'groups'] as const,
    registers: [registry],
  });
  info.set({ host: identity.host, groups: identity.groups.join(',') }, 1);
}
