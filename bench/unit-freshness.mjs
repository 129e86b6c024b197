// Runs INSIDE a sandbox (root): how long after systemd changed a unit's state an exporter shows it.
// Stops and starts UNIT --cycles times while scraping URL back to back (one request in flight, keep-alive);
// each sample is the end of the first scrape that shows the new state minus the unit's
// StateChangeTimestampMonotonic (systemd's own record of the change, the same clock as process.hrtime):
// an upper bound of the freshness, by at most one scrape.
//   node unit-freshness.mjs --url http://127.0.0.1:10170/metrics --format ess|node --unit quantum-execution.service --cycles 20
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { keepAliveScraper } from './keepalive-scrape.mjs';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:10170/metrics' },
    format: { type: 'string', default: 'ess' },
    unit: { type: 'string', default: 'quantum-execution.service' },
    cycles: { type: 'string', default: '20' },
    'timeout-ms': { type: 'string', default: '3000' },
  },
});
const url = new URL(values.url);
const { scrape, close } = keepAliveScraper(url);
const unit = values.unit;
const escaped = unit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// ess: ess_unit_state{unit="U",role="R",state="S"} 1; node_exporter: node_systemd_unit_state{name="U",state="S",type="T"} 1
const pattern =
  values.format === 'node'
    ? new RegExp(`^node_systemd_unit_state\\{name="${escaped}",state="([a-z-]+)"[^}]*\\} 1$`, 'm')
    : new RegExp(`^ess_unit_state\\{unit="${escaped}",role="[a-z]+",state="([a-z-]+)"\\} 1$`, 'm');

const monotonicUs = () => process.hrtime.bigint() / 1000n;

async function toggle(verb, wanted) {
  // the start rate limit (5 in 10 s by default) would refuse the 6th start
  if (verb === 'start') await run('systemctl', ['reset-failed', '--', unit]);
  const job = run('systemctl', [verb, '--', unit]);
  const deadline = Date.now() + Number(values['timeout-ms']);
  let seenUs = null;
  while (Date.now() < deadline) {
    const body = await scrape();
    if (pattern.exec(body)?.[1] === wanted) {
      seenUs = monotonicUs();
      break;
    }
  }
  await job;
  const { stdout } = await run('systemctl', ['show', '-P', 'StateChangeTimestampMonotonic', '--', unit]);
  const changedUs = BigInt(stdout.trim());
  return seenUs === null ? null : Number(seenUs - changedUs) / 1000;
}

const samples = [];
let missed = 0;
for (let i = 0; i < Number(values.cycles); i += 1) {
  for (const [verb, wanted] of [['stop', 'inactive'], ['start', 'active']]) {
    const ms = await toggle(verb, wanted);
    if (ms === null) missed += 1;
    else samples.push(ms);
  }
}
close();
const sorted = [...samples].sort((a, b) => a - b);
const pct = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
console.log(JSON.stringify({ samples: sorted.length, missed, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? null }));
