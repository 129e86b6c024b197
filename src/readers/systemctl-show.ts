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
  readonly state: UnitState;
}

export const SHOW_PROPERTIES = 'Id,LoadState,ActiveState,SubState,ControlGroup';

export class SystemctlOutputError extends Error {
  override name = 'SystemctlOutputError';
}

/**
 * Splits `systemctl show --property=... -- UNIT...` output into one status per requested unit. systemctl
 * prints one blank-line-separated block per argument, in argument order, so blocks are matched by
 * position: Id= is the canonical name and would not match an alias.
 */
export function parseSystemctlShow(output: string, units: readonly string[]): Map<string, UnitStatus> {
  const blocks = output
    .replace(/\r/g, '')
    .split(/\n[ \t]*\n/)
    .map((block) => block.trim())
    .filter((block) => block !== '');
  if (blocks.length !== units.length) {
    throw new SystemctlOutputError(`expected ${units.length} property blocks, got ${blocks.length}`);
  }
  const result = new Map<string, UnitStatus>();
  blocks.forEach((block, index) => {
    const unit = units[index] ?? '';
    const properties = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) properties.set(line.slice(0, eq), line.slice(eq + 1));
    }
    const loadState = properties.get('LoadState');
    const activeState = properties.get('ActiveState');
    if (loadState === undefined || activeState === undefined) {
      throw new SystemctlOutputError(`block ${index + 1} (${unit}) has no LoadState or ActiveState`);
    }
    result.set(unit, {
      id: properties.get('Id') ?? unit,
      loadState,
      activeState,
      subState: properties.get('SubState') ?? '',
      controlGroup: properties.get('ControlGroup') ?? '',
      state: unitState(loadState, activeState),
    });
  });
  return result;
}

export function unitState(loadState: string, activeState: string): UnitState {
  if (loadState === 'not-found') return 'not-found';
  const activity = activityOf(activeState);
  // Masking does not stop a running unit: while it runs, its activity is what the latch cares about.
  return loadState === 'masked' && !isRunning(activity) ? 'masked' : activity;
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
      throw new SystemctlOutputError(`unknown ActiveState '${activeState}'`);
  }
}

/** Running or on its way up or down. */
function isRunning(state: UnitState): boolean {
  return state === 'active' || state === 'activating' || state === 'deactivating';
}
