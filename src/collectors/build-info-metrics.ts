import { Gauge, type Registry } from 'prom-client';
import type { BuildInfo } from '../io/build-info.js';

/** Set once: the version cannot change while the process runs. */
export function registerBuildInfoMetric(registry: Registry, buildInfo: BuildInfo): void {
  const info = new Gauge({
    name: 'ess_build_info',
    help: 'Version of the ESS exporter and of the Node.js running it; always 1.',
    labelNames: ['version', 'nodejs_version'] as const,
    registers: [registry],
  });
  info.set({ version: buildInfo.version, nodejs_version: buildInfo.nodejsVersion }, 1);
}
