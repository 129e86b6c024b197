import { type Matcher, MatcherSyntaxError, parseMatcher } from './matchers.js';

/** All matchers must match; a rule never is empty (an empty rule would trip on every alert). */
export type TripRule = readonly Matcher[];

/** What alerting/ess.rules.yml and alerting/alertmanager.example.yml mark trip alerts with. */
export const DEFAULT_TRIP_RULES: readonly (readonly string[])[] = [['ess_trip="true"']];

/** A bad trip_rules value; `at` names the element, e.g. `[1][0]`. */
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

/**
 * Compiles `[["name=\"value\"", ...], ...]`, a list of rules each a list of matcher texts, whose shape
 * the contract's schema has checked (contract/exporter-config.schema.json): here, what it cannot say.
 */
export function parseTripRules(value: readonly (readonly string[])[]): TripRule[] {
  return value.map((rule, ruleIndex) => {
    const matchers = rule.map((text, matcherIndex) => {
      try {
        return parseMatcher(text);
      } catch (error) {
        if (error instanceof MatcherSyntaxError) throw new TripRuleError(`[${ruleIndex}][${matcherIndex}]`, error.message, { cause: error });
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
