// Trip rule regexes (no sandbox, pure CPU): the report's pathological rule instance=~"(.*\.)*prod"
// against `a.` x N then `x`, on the RE2 engine the exporter uses, compared with JavaScript's
// backtracking engine at sizes it can still finish; and one delivery of 2,000 alerts with 500-byte
// instances through the whole matcher.
//   npx tsx bench/regex.bench.ts
import { parseTripRules } from '../src/config/trip-rules.js';
import { anyRuleMatches, WorkMeter } from '../src/webhook/trip-rule-matching.js';
import { report, verdict } from './report.js';

const ms = (run: () => void): number => {
  const start = performance.now();
  run();
  return performance.now() - start;
};
const value = (segments: number): string => `${'a.'.repeat(segments)}x`;
const [rule = []] = parseTripRules([['instance=~"(.*\\.)*prod"']]);
const matcher = rule[0];
if (matcher === undefined) throw new Error('no matcher');
const backtracking = /^(?:(.*\.)*prod)$/;

const re2At = (segments: number): number => ms(() => matcher.matches({ instance: value(segments) }));
re2At(1_000); // warm up
const re2Small = re2At(33);
const re2Large = re2At(100_000);
// 2^N: 25 segments take about 100 ms here; the report's 33 would take tens of seconds
const jsAt24 = ms(() => backtracking.test(value(24)));
const jsAt25 = ms(() => backtracking.test(value(25)));

const alerts = Array.from({ length: 2_000 }, (_, i) => ({ instance: `${value(249)}${i}` }));
const meter = new WorkMeter();
const delivery = ms(() => alerts.forEach((labels) => anyRuleMatches([rule], labels, meter)));

report('trip rule regexes (RE2 engine, linear)', [
  { figure: 'pathological rule, 33 segments (ms)', ess: re2Small.toFixed(2), reference: `backtracking, 24 segments: ${jsAt24.toFixed(0)} ms, 25: ${jsAt25.toFixed(0)} ms`, goal: '< 1 ms', result: verdict(re2Small < 1) },
  { figure: 'pathological rule, 100,000 segments (ms)', ess: re2Large.toFixed(1), reference: '', goal: '< 100 ms', result: verdict(re2Large < 100) },
  { figure: '2,000 alerts x 500-byte instance, one delivery (ms)', ess: delivery.toFixed(1), reference: `${(meter.total / 1e6).toFixed(1)} M work units`, goal: '< 200 ms', result: verdict(delivery < 200) },
]);
