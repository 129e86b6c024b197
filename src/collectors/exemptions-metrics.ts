import { Gauge, type Registry } from 'prom-client';
import type { Exemption } from '../readers/exemptions.js';
import { optionalGauge } from './optional-metric.js';

/**
 * Maintenance exemptions in force (contract/README.md section 5): trading units the controller lets
 * run while the ESS stays active. Both are absent until the exemption files were first read.
 */
export function registerExemptionMetrics(
  registry: Registry,
  tradingUnits: readonly string[],
  exemptions: () => ReadonlyMap<string, Exemption> | null,
): void {
  new Gauge({
    name: 'ess_unit_exempt_until_seconds',
    help: 'Unix time the maintenance exemption of each trading unit ends (it may run while the ESS is active until then); 0 when it has none.',
    labelNames: ['unit'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const current = exemptions();
      if (current === null) return;
      for (const unit of tradingUnits) this.set({ unit }, current.get(unit)?.until ?? 0);
    },
  });

  optionalGauge(
    registry,
    'ess_exemptions_active',
    'Trading units with a maintenance exemption in force: allowed to run while the ESS is active, left out of ess_latch_violation and ess_switch_armed.',
    () => exemptions()?.size,
  );
}
