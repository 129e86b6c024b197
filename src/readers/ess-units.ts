/**
 * The ESS's own units, installed under fixed names (contract/README.md section 1), and the properties
 * of theirs that the readers fetch and the verdict compares with the installer's record.
 */

/** The ESS's own units whose state arms the switch (installed under these fixed names). */
export const FLAG_WATCHER_UNIT = 'quantum-ess.path';
export const TRIP_WATCHER_UNIT = 'quantum-ess-trip.path';
export const TRIGGER_UNIT = 'quantum-ess-trigger.service';
export const SWITCH_UNITS = [FLAG_WATCHER_UNIT, TRIP_WATCHER_UNIT, TRIGGER_UNIT] as const;
/** Every unit a trigger or the guard goes through: judged as installed (contract section 1). */
export const WIRING_UNITS = [
  FLAG_WATCHER_UNIT,
  TRIGGER_UNIT,
  TRIP_WATCHER_UNIT,
  'quantum-ess-trip.service',
  'quantum-ess.service',
  'quantum-ess-guard.path',
  'quantum-ess-guard.service',
  'quantum-ess-restore.service',
] as const;
/**
 * A service's dependencies that can keep its start from running (a required unit that fails, one
 * ordered before it whose start hangs, one conflicting with it whose stop hangs). A unit file
 * elsewhere can add them to the ESS's own (an enabled RequiredBy=, a Before=, a Conflicts=) without a
 * drop-in on it.
 */
export const WIRING_DEPENDENCIES = ['Requires', 'Requisite', 'BindsTo', 'After', 'ConflictedBy'] as const;

/** The properties compared with the installer's record, by unit type. */
export function wiringProperties(unit: string): readonly string[] {
  return unit.endsWith('.path') ? ['FragmentPath', 'DropInPaths', 'Triggers', 'Paths'] : ['FragmentPath', 'DropInPaths', 'ExecStart', ...WIRING_DEPENDENCIES];
}

/** Property name -> its text form (contract section 1); a property not read is missing. */
export type UnitProperties = ReadonlyMap<string, string>;
