import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { MatcherSyntaxError, parseMatcher } from '../../../src/config/matchers.js';
import { parseTripRules, TripRuleError } from '../../../src/config/trip-rules.js';
import { anyRuleMatches, ruleMatches, WorkMeter } from '../../../src/webhook/trip-rule-matching.js';

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

describe('RE2 semantics, as in Alertmanager and Prometheus', () => {
  it('reads the RE2 syntax JavaScript lacks', () => {
    expect(parseMatcher('instance=~"trading-[[:digit:]]+"').matches({ instance: 'trading-01' })).toBe(true);
    expect(parseMatcher('instance=~"\\Qa.b\\E"').matches({ instance: 'a.b' })).toBe(true);
    expect(parseMatcher('instance=~"\\Qa.b\\E"').matches({ instance: 'axb' })).toBe(false);
    expect(parseMatcher('severity=~"(?i)CRIT.*"').matches({ severity: 'critical' })).toBe(true);
    expect(parseMatcher('instance=~"\\pL+"').matches({ instance: 'händler' })).toBe(true);
  });

  it('anchors at both ends: $ is the end of the value, . does not cross a newline (no (?s))', () => {
    expect(parseMatcher('a=~"x"').matches({ a: 'x\n' })).toBe(false);
    expect(parseMatcher('a=~"x.y"').matches({ a: 'x\ny' })).toBe(false);
    expect(parseMatcher('a=~"(?s)x.y"').matches({ a: 'x\ny' })).toBe(true);
  });

  it('refuses a regex whose program is too large to test cheaply', () => {
    expect(() => parseMatcher('a=~"(x{1000}){1000}"')).toThrow(MatcherSyntaxError);
    expect(() => parseMatcher('a=~"a{1000}b{1000}c{1000}d{1000}e{1000}f{1000}"')).toThrow(/instructions/);
  });

  it('runs the pathological case in steps linear in the value (each extra segment adds, not doubles)', () => {
    const regex = RE2JS.compile('^(?:(.*\\.)*prod)$');
    // every read of the value by the engine is counted
    const reads = (segments: number): number => {
      let count = 0;
      const bytes = [...Buffer.from(`${'a.'.repeat(segments)}x`)];
      const counted = new Proxy(bytes, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) count += 1;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      expect(regex.matches(counted)).toBe(false);
      return count;
    };
    const at33 = reads(33);
    const at66 = reads(66);
    const at10k = reads(10_000);
    // a backtracking engine doubles per segment: 2^33 reads at 33 segments
    expect(at33).toBeLessThan(67 * regex.programSize() * 4);
    expect(at66).toBeLessThan(at33 * 2.5);
    expect(at10k).toBeLessThan(20_001 * regex.programSize() * 4);
    // and the matcher the rules use says no to the alert from the report
    expect(parseMatcher('instance=~"(.*\\.)*prod"').matches({ instance: `${'a.'.repeat(33)}x` })).toBe(false);
    expect(parseMatcher('instance=~"(.*\\.)*prod"').matches({ instance: `${'a.'.repeat(33)}prod` })).toBe(true);
  });

  it('charges each regex test its cost, equality matchers first (a failed ess_trip runs no regex)', () => {
    const [rule = []] = parseTripRules([['instance=~"(.*\\.)*prod"', 'ess_trip="true"']]);
    const meter = new WorkMeter(1_000);
    expect(ruleMatches(rule, { instance: 'a.prod' }, meter)).toBe(false);
    expect(meter.total).toBe(0);
    expect(ruleMatches(rule, { instance: 'a.prod', ess_trip: 'true' }, meter)).toBe(true);
    expect(meter.total).toBe(7 * (rule[0]?.costPerChar ?? 0));
    expect(meter.sliceUsed()).toBe(false);
    meter.charge(1_000);
    expect(meter.sliceUsed()).toBe(true);
    expect(meter.sliceUsed()).toBe(false);
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
    [[['a="b"'], ['c="d"', 'e~"x"']], '[1][1]'],
    [[['a=~"[unclosed"']], '[0][0]'],
    // what Go's RE2 (Alertmanager, Prometheus) refuses: backreferences, lookarounds, possessive repeats
    [[['a="b"'], ['instance=~"(a)\\1"']], '[1][0]'],
    [[['instance=~"(?=prod)p.*"']], '[0][0]'],
    [[['instance=~"(?!dev).*"']], '[0][0]'],
    [[['instance=~"(?<=x)y"']], '[0][0]'],
    [[['instance=~"(?<!x)y"']], '[0][0]'],
    [[['instance=~"a++"']], '[0][0]'],
    [[['instance=~"a{1001}"']], '[0][0]'],
    [[['instance=~"\\Z"']], '[0][0]'],
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
