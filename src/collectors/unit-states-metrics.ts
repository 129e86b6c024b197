import { Counter, Gauge, type Registry } from 'prom-client';
import { UNIT_STATES } from '../readers/unit-status.js';
import type { UnitStatesView } from '../readers/unit-states.js';
import type { ConfiguredUnit } from './unit-status-metrics.js';

/** Where the unit states come from, how old they are, and every change of state seen. */
export function registerUnitStatesMetrics(registry: Registry, units: readonly ConfiguredUnit[], unitStates: UnitStatesView): void {
  const registers = [registry];
  new Gauge({
    name: 'ess_exporter_unit_source',
    help: 'Where the unit states come from: dbus, pushed by systemd over a subscription, the one source; 1 while subscribed, 0 while the system bus is unavailable (the states are then unknown).',
    labelNames: ['source'] as const,
    registers,
    collect() {
      this.set({ source: 'dbus' }, unitStates.subscribed() ? 1 : 0);
    },
  });

  new Gauge({
    name: 'ess_exporter_unit_states_age_seconds',
    help: 'Seconds since the unit states were last known to be current: 0 while the D-Bus subscription is up and systemd answers, else the age of its last answer; absent while never read.',
    registers,
    collect() {
      this.reset();
      const age = unitStates.ageSeconds();
      if (age !== null) this.set(age);
    },
  });

  // Every series exists at 0 from the start: a counter series born at 1 is invisible to increase().
  // Only what changed since the last scrape is added: resetting and re-adding every series at every
  // scrape would cost more than the rest of the unit metrics together.
  const transitions = new Counter({
    name: 'ess_unit_state_transitions_total',
    help: 'Changes of ess_unit_state seen since the exporter started, by the state entered (the first reading is not a change).',
    labelNames: ['unit', 'role', 'state'] as const,
    registers,
    collect() {
      for (const { unit, role } of units) {
        const counts = unitStates.transitions().get(unit);
        if (counts === undefined) continue;
        for (const [state, count] of counts) {
          const key = `${unit}\0${state}`;
          const added = reported.get(key) ?? 0;
          if (count > added) {
            this.inc({ unit, role, state }, count - added);
            reported.set(key, count);
          }
        }
      }
    },
  });
  const reported = new Map<string, number>();
  for (const { unit, role } of units) for (const state of UNIT_STATES) transitions.inc({ unit, role, state }, 0);
}
