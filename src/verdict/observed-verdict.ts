import type { LatchMarkers } from '../readers/latch-markers.js';
import type { UnitStatus } from '../readers/unit-status.js';
import type { Populated } from '../readers/cgroup.js';
import type { AssertEntry } from '../readers/unit-asserts.js';
import { SWITCH_UNITS, type UnitProperties } from '../readers/ess-units.js';
import { computeVerdict, type LatchPaths, type LatchVerdict } from './latch-verdict.js';

/** The exporter's last known readings, in the shape its readers keep them. */
export interface Observations {
  /** null while never read. */
  readonly flag: boolean | null;
  /** A directory on the way to the flag is a symbolic link (false while never read). */
  readonly flagDirRedirected: boolean;
  /** The installer's wiring record; null when there is none. */
  readonly wiringRecord: ReadonlyMap<string, UnitProperties> | null;
  /** The wiring units as systemd loaded them; missing units count as unknown. */
  readonly wiring: ReadonlyMap<string, UnitProperties>;
  readonly markers: LatchMarkers | null;
  readonly statuses: ReadonlyMap<string, UnitStatus> | null;
  /** Whether systemd answers over the subscription (statuses may be older). */
  readonly systemdOk: boolean;
  /** Missing units count as not read (guard unknown). */
  readonly asserts: ReadonlyMap<string, readonly AssertEntry[] | null>;
  /** Missing units count as unknown. */
  readonly populated: ReadonlyMap<string, Populated>;
  /** Whether each trading unit's user's slice holds processes; missing units count as unknown. */
  readonly userSlices: ReadonlyMap<string, Populated>;
  /** Trading units whose maintenance exemption is in force now (contract section 5). */
  readonly exempt: ReadonlySet<string>;
}

/** The latch as the exporter sees it; either part is null while it cannot be told. */
export interface LatchView {
  readonly latched: boolean | null;
  readonly verdict: LatchVerdict | null;
}

/**
 * The contract's verdict on the readings. Without a flag, marker or unit state ever read there is
 * nothing to judge, but `latched` may still be known: a flag that exists is a latch whatever else is.
 */
export function observeLatch(observations: Observations, tradingUnits: readonly string[], paths: LatchPaths): LatchView {
  const { flag, markers, statuses } = observations;
  const latched = latchedOf(flag === null ? null : flag && !observations.flagDirRedirected, markers?.latchedFile ?? null);
  if (flag === null || markers === null || statuses === null) return { latched, verdict: null };
  const trading = new Map(
    tradingUnits.map((unit) => {
      const status = statuses.get(unit);
      const inputs = {
        loadState: status?.loadState ?? '',
        activeState: status?.activeState ?? '',
        populated: observations.populated.get(unit) ?? 'unknown',
        userSlice: observations.userSlices.get(unit) ?? 'unknown',
        asserts: observations.asserts.get(unit) ?? null,
        exempt: observations.exempt.has(unit),
      };
      return [unit, inputs] as const;
    }),
  );
  const switchStates = new Map(SWITCH_UNITS.map((unit) => [unit, statuses.get(unit)?.activeState ?? ''] as const));
  const verdict = computeVerdict(
    {
      flag,
      latchedFile: markers.latchedFile,
      persistProblem: markers.persistProblem !== '',
      resumePending: markers.resumePending !== '',
      configProblem: markers.configProblem !== '',
      systemdOk: observations.systemdOk,
      trading,
      switchStates,
      flagDirRedirected: observations.flagDirRedirected,
      wiringRecord: observations.wiringRecord,
      wiring: observations.wiring,
    },
    paths,
  );
  return { latched: verdict.latched, verdict };
}

/** flag or latched_file in three-valued logic: one true is enough, false needs both known. */
function latchedOf(flag: boolean | null, latchedFile: boolean | null): boolean | null {
  if (flag === true || latchedFile === true) return true;
  return flag === false && latchedFile === false ? false : null;
}
