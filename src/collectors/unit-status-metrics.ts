import { Gauge, type Registry } from 'prom-client';
import { UNIT_STATES, type UnitStatus } from '../readers/unit-status.js';

/** `switch`: the ESS's own path and trigger units, which arm the kill switch. */
export type UnitRole = 'trading' | 'monitor' | 'switch';

export interface ConfiguredUnit {
  readonly unit: string;
  readonly role: UnitRole;
}

/** The state of every unit the systemd reader asks about, labelled with the role it has for the ESS. */
export function registerUnitStatusMetrics(
  registry: Registry,
  units: readonly ConfiguredUnit[],
  unitStatuses: () => ReadonlyMap<string, UnitStatus> | null,
): void {
  new Gauge({
    name: 'ess_unit_state',
    help: 'Current state of each configured unit: 1 on the current state, 0 on the others; all 0 while never read.',
    labelNames: ['unit', 'role', 'state'] as const,
    registers: [registry],
    collect() {
      const statuses = unitStatuses();
      for (const { unit, role } of units) {
        const current = statuses?.get(unit)?.state;
        // this collector alone sets these series: a unit whose state did not change needs no setting
        const key = `${unit}\0${role}`;
        if (shown.has(key) && shown.get(key) === current) continue;
        for (const state of UNIT_STATES) this.set({ unit, role, state }, state === current ? 1 : 0);
        shown.set(key, current);
      }
    },
  });
  /** The state the series of each unit and role show (undefined: all 0). */
  const shown = new Map<string, string | undefined>();
}
