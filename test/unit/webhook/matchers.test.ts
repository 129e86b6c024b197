import { describe, expect, it } from 'vitest';
import { MatcherSyntaxError, parseMatcher } from '../../../src/webhook/matchers.js';
import { anyRuleMatches, parseTripRules, ruleMatches, TripRuleError } from '../../../src/webhook/trip-rules.js';

describe('parseMatcher', () => {
  it.each([
    ['ess_trip="true"', 'ess_trip', '=', 'true'],
    ['severity!="info"', 'severity', '!=', 'info'],
    ['severity=~"critical|page"', 'severity', '=~', 'critical|page'],
    ['env!~"dev.*"', 'env', '!~', 'dev.*'],
    ['ess_trip=true', 'ess_trip', '=', 'true'],
    ['  alertname  =  "Quantum Drawdown"  ', 'alertname', '=', 'Quantum Drawdown'],
    ['a=~"\\d+"', 'a', '=~', '\\d+'],
    ['a="say \\"hi\\" \\\\ there\\n"', 'a', '=', 'say "hi" \\ there\n'],
    ['a=""', 'a', '=', ''],
    ['a=', 'a', '=', ''],
    ['a="x=~y"', 'a', '=', 'x=~y'],
  ])('reads %s', (text, name, operator, value) => {
    const matcher = parseMatcher(text);
    expect({ name: matcher.name, operator: matcher.operator, value: matcher.value }).toEqual({ name, operator, value });
  });

  it.each([
    ['no operator', 'ess_trip'],
    ['empty', ''],
    ['name starting with a digit', '1a="x"'],
    ['unterminated quote', 'a="x'],
    ['quote inside the value', 'a="x"y"'],
    ['lone backslash at the end', 'a="x\\"'],
    ['bad regex', 'a=~"("'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseMatcher(text)).toThrow(MatcherSyntaxError);
  });

  it('prints a canonical form that reads back the same', () => {
    for (const text of ['a="x"', 'b!~"y\\\\\\"z"', 'c=~"a|b"', 'd!="line\\nbreak"']) {
      const matcher = parseMatcher(text);
      const again = parseMatcher(matcher.toString());
      expect([again.name, again.operator, again.value]).toEqual([matcher.name, matcher.operator, matcher.value]);
    }
    expect(JSON.stringify([parseMatcher('severity=~critical|page')])).toBe('["severity=~\\"critical|page\\""]');
  });
});

describe('matcher evaluation', () => {
  const labels = { alertname: 'QuantumDrawdownBreach', severity: 'critical', ess_trip: 'true' };

  it('compares equality and inequality exactly', () => {
    expect(parseMatcher('severity="critical"').matches(labels)).toBe(true);
    expect(parseMatcher('severity="Critical"').matches(labels)).toBe(false);
    expect(parseMatcher('severity!="critical"').matches(labels)).toBe(false);
    expect(parseMatcher('severity!="warning"').matches(labels)).toBe(true);
  });

  it('anchors regexes at both ends, alternatives included, like Alertmanager', () => {
    expect(parseMatcher('severity=~"crit"').matches(labels)).toBe(false);
    expect(parseMatcher('severity=~"crit.*"').matches(labels)).toBe(true);
    expect(parseMatcher('severity=~"page|crit"').matches(labels)).toBe(false);
    expect(parseMatcher('severity=~"page|critical"').matches(labels)).toBe(true);
    expect(parseMatcher('alertname=~"Drawdown"').matches(labels)).toBe(false);
    expect(parseMatcher('alertname!~"Quantum.*"').matches(labels)).toBe(false);
    expect(parseMatcher('alertname!~"Other.*"').matches(labels)).toBe(true);
  });

  it('treats a missing label as the empty string', () => {
    expect(parseMatcher('team=""').matches(labels)).toBe(true);
    expect(parseMatcher('team!="x"').matches(labels)).toBe(true);
    expect(parseMatcher('team="x"').matches(labels)).toBe(false);
    expect(parseMatcher('team=~".*"').matches(labels)).toBe(true);
    expect(parseMatcher('team=~".+"').matches(labels)).toBe(false);
    expect(parseMatcher('team!~".+"').matches(labels)).toBe(true);
  });

  it('does not read inherited properties as labels', () => {
    expect(parseMatcher('constructor=""').matches({})).toBe(true);
    expect(parseMatcher('toString=~".+"').matches({})).toBe(false);
  });
});

describe('trip rules', () => {
  const rules = parseTripRules([['ess_trip="true"'], ['alertname="QuantumDrawdownBreach"', 'severity=~"critical|page"']]);

  it('match when every matcher of one rule matches', () => {
    expect(anyRuleMatches(rules, { ess_trip: 'true' })).toBe(true);
    expect(anyRuleMatches(rules, { alertname: 'QuantumDrawdownBreach', severity: 'page' })).toBe(true);
    expect(anyRuleMatches(rules, { alertname: 'QuantumDrawdownBreach', severity: 'warning' })).toBe(false);
    expect(anyRuleMatches(rules, { ess_trip: 'false', severity: 'critical' })).toBe(false);
    expect(ruleMatches(rules[1] ?? [], { alertname: 'QuantumDrawdownBreach' })).toBe(false);
  });

  it.each([
    [[], ''],
    ['ess_trip="true"', ''],
    [[[]], '[0]'],
    [[['a="b"'], 'a="b"'], '[1]'],
    [[['a="b"'], ['c="d"', 7]], '[1][1]'],
    [[['a="b"'], ['c="d"', 'e~"x"']], '[1][1]'],
    [[['a=~"[unclosed"']], '[0][0]'],
    // Go RE2-only syntax would compile in JavaScript and then never match
    [[['instance=~"trading-[[:digit:]]+"']], '[0][0]'],
    [[['x=~"\\Qa.b\\E"']], '[0][0]'],
    // rules that match an alert without labels would trip on every alert (Watchdog included)
    [[['severity!="info"']], '[0]'],
    [[['ess_trip=""']], '[0]'],
    [[['a="b"'], ['x=~".*"', 'y!~"z"']], '[1]'],
  ])('refuse %j naming %s', (value, at) => {
    let caught: unknown;
    try {
      parseTripRules(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TripRuleError);
    expect((caught as TripRuleError).at).toBe(at);
  });
});
