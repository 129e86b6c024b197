import { type Matcher, MatcherSyntaxError, parseMatcher } from './matchers.js';

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
