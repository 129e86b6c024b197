import { type Labels, type Matcher, MatcherSyntaxError, parseMatcher } from './matchers.js';

/** All matchers must match; a rule never is empty (an empty rule would trip on every alert). */
export type TripRule = readonly Matcher[];

/** What alerting/ess.rules.yml and alerting/alertmanager.example.yml mark trip alerts with. */
export const DEFAULT_TRIP_RULES: readonly (readonly string[])[] = [['ess_trip="true"']];

/** A bad trip_rules value; `at` names the element, e.g. `[1][0]`, or is empty for the list itself. */
export class TripRuleError extends Error {
  override name = 'TripRuleError';

  constructor(
    readonly at: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(problem, options);
  }
}

/** Parses `[["name=\"value\"", ...], ...]`: a list of rules, each a list of matcher texts. */
export function parseTripRules(value: unknown): TripRule[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TripRuleError('', 'must be a non-empty list of rules, each a list of matchers (set webhook_dry_run to trip nothing)');
  }
  return value.map((rule: unknown, ruleIndex) => {
    if (!Array.isArray(rule) || rule.length === 0) {
      throw new TripRuleError(`[${ruleIndex}]`, 'must be a non-empty list of matchers (an empty rule would trip on every alert)');
    }
    const matchers = rule.map((text: unknown, matcherIndex) => {
      const at = `[${ruleIndex}][${matcherIndex}]`;
      if (typeof text !== 'string') throw new TripRuleError(at, `${JSON.stringify(text)} is not a string`);
      try {
        return parseMatcher(text);
      } catch (error) {
        if (error instanceof MatcherSyntaxError) throw new TripRuleError(at, error.message, { cause: error });
        throw error;
      }
    });
    // e.g. [severity!="info"] or [x=~".*"]: would trip on Watchdog and every other alert
    if (matchers.every((matcher) => matcher.matches({}))) {
      throw new TripRuleError(`[${ruleIndex}]`, 'matches an alert without any labels, so it would trip on every alert; add a positive matcher');
    }
    return matchers;
  });
}

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
