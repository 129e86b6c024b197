import type { Labels } from '../config/matchers.js';
import type { TripRule } from '../config/trip-rules.js';

/**
 * Equality matchers first: they cost nothing, and a rule whose ess_trip="true" fails never runs its
 * regexes. `meter`, when given, is charged the work of every regex test run.
 */
export function ruleMatches(rule: TripRule, labels: Labels, meter?: WorkMeter): boolean {
  for (const cheap of [true, false]) {
    for (const matcher of rule) {
      if ((matcher.costPerChar === 0) !== cheap) continue;
      if (!cheap) meter?.charge(matcher.cost(labels));
      if (!matcher.matches(labels)) return false;
    }
  }
  return true;
}

export function anyRuleMatches(rules: readonly TripRule[], labels: Labels, meter?: WorkMeter): boolean {
  return rules.some((rule) => ruleMatches(rule, labels, meter));
}

/**
 * Regex work done for one request, in the engine's units (characters times program size). The RE2
 * engine is linear, so a request's total is bounded by its body size; the receiver yields to the event
 * loop every `sliceUnits` so that one large delivery never holds a scrape or another trip for long.
 */
export class WorkMeter {
  total = 0;
  #sinceYield = 0;

  constructor(readonly sliceUnits: number = WORK_SLICE_UNITS) {}

  charge(units: number): void {
    this.total += units;
    this.#sinceYield += units;
  }

  /** True once a slice is used up; the caller yields and the slice starts again. */
  sliceUsed(): boolean {
    if (this.#sinceYield < this.sliceUnits) return false;
    this.#sinceYield = 0;
    return true;
  }
}

/** A few milliseconds of matching (the engine does about 1 M units per millisecond, cold, on a 2-core host). */
export const WORK_SLICE_UNITS = 4_000_000;
