/** The states ess_unit_state reports, one series each. */
export const UNIT_STATES = ['active', 'activating', 'deactivating', 'inactive', 'failed', 'not-found', 'masked'] as const;
export type UnitState = (typeof UNIT_STATES)[number];

export interface UnitStatus {
  /** The canonical name: differs from the configured name when that is an alias. */
  readonly id: string;
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
  /** The unit's cgroup below the hierarchy root (`/system.slice/x.service`); empty when it has none. */
  readonly controlGroup: string;
  /** A service's User= (empty: root); read for the trading units only, empty for the others. */
  readonly user: string;
  readonly state: UnitState;
}

export function unitState(loadState: string, activeState: string): UnitState {
  if (loadState === 'not-found') return 'not-found';
  const activity = activityOf(activeState);
  // Masking does not stop a running unit: while it runs, its activity is what the latch cares about.
  return loadState === 'masked' && !isRunningState(activity) ? 'masked' : activity;
}

function activityOf(activeState: string): UnitState {
  switch (activeState) {
    case 'active':
    case 'activating':
    case 'deactivating':
    case 'inactive':
    case 'failed':
      return activeState;
    // reloading/refreshing: the unit's processes keep running through a reload.
    case 'reloading':
    case 'refreshing':
      return 'active';
    // maintenance: `systemctl clean` on a stopped unit; nothing of it runs.
    case 'maintenance':
      return 'inactive';
    default:
      throw new Error(`unknown ActiveState '${activeState}'`);
  }
}

const RUNNING_STATES: ReadonlySet<string> = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);

/** Running or on its way up or down; maintenance, inactive and failed are not (the cgroup check covers leftovers). */
export function isRunningState(activeState: string): boolean {
  return RUNNING_STATES.has(activeState);
}
