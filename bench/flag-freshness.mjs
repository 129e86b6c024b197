// Runs INSIDE a sandbox (root): how long after the latch flag is created or removed an exporter's
// ess_active shows it. Creates and removes FLAG --cycles times while scraping URL back to back (one
// request in flight, keep-alive); each sample is the end of the first scrape that shows the new value
// minus the moment just before the change (an upper bound of the freshness, by at most one scrape).
// Interleaved with each change, one scrape with nothing changed: its round trip is the floor any
// freshness measured this way has.
//   node flag-freshness.mjs --url http://127.0.0.1:10171/metrics --flag /run/ess-bench-flag/ESS_ON --cycles 25
import { rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { keepAliveScraper } from './keepalive-scrape.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:10171/metrics' },
    flag: { type: 'string', default: '/run/ess-bench-flag/ESS_ON' },
    cycles: { type: 'string', default: '25' },
    'timeout-ms': { type: 'string', default: '3000' },
  },
});
const url = new URL(values.url);
const { scrape, close } = keepAliveScraper(url);
const pattern = /^ess_active (\d+)$/m;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** ms from the change until a scrape shows `wanted`, null when none did within the timeout. */
async function change(apply, wanted) {
  const started = nowMs();
  await apply();
  const deadline = started + Number(values['timeout-ms']);
  while (nowMs() < deadline) {
    if (pattern.exec(await scrape())?.[1] === wanted) return nowMs() - started;
  }
  return null;
}

async function roundTrip() {
  const started = nowMs();
  await scrape();
  return nowMs() - started;
}

const samples = [];
const floor = [];
let missed = 0;
for (let i = 0; i < Number(values.cycles); i += 1) {
  for (const [apply, wanted] of [
    [() => writeFile(values.flag, ''), '1'],
    [() => rm(values.flag), '0'],
  ]) {
    floor.push(await roundTrip());
    const ms = await change(apply, wanted);
    if (ms === null) missed += 1;
    else samples.push(ms);
  }
}
close();
const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  return { samples: sorted.length, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? null };
};
console.log(JSON.stringify({ ...stats(samples), missed, floor: stats(floor) }));
