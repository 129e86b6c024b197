// Scrape benchmark: the exporter in-process against fixture files and a fake systemctl and busctl, driven at a
// fixed rate of 100 scrapes/s for 5 s over loopback (open loop, at most 100 requests in flight).
//   npx tsx bench/exporter.bench.ts [--rate N] [--seconds N]
import { Agent, request } from 'node:http';
import { copyFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UnprivilegedSide } from '../src/unprivileged-side.js';
import { startServer } from '../src/http/server.js';
import { createFakeHost } from '../sandbox/fake-host.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '5' } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const MAX_IN_FLIGHT = 100;

const host = await createFakeHost();
// a state.json of the contract's examples: a recorded activation, deactivation and tamper
await copyFile(new URL('../contract/fixtures/state/valid-full.json', import.meta.url), host.stateFile);
// production-like: systemctl at most once a second, whatever the scrape rate
const config = await host.config({ unit_state_cache_seconds: 1, systemctl_timeout_seconds: 2 });
const exporter = new UnprivilegedSide(config, { version: 'bench', nodejsVersion: process.version }, () => {}, host.hostPaths);
await exporter.start();
const server = await startServer(exporter, config.listen, 'bench');
const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

function scrape(): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: server.address.host, port: server.address.port, path: '/metrics', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const latencies: number[] = [];
let errors = 0;
let skipped = 0;
let inFlight = 0;
let peakRss = process.memoryUsage().rss;
const rssBefore = peakRss;
const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const pending: Promise<void>[] = [];
const total = Math.round(rate * seconds);
const started = Date.now();
for (let i = 0; i < total; i += 1) {
  const due = started + (i * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  if (inFlight >= MAX_IN_FLIGHT) {
    skipped += 1;
    continue;
  }
  inFlight += 1;
  pending.push(
    scrape().then(
      (ms) => void latencies.push(ms),
      () => void (errors += 1),
    ).finally(() => (inFlight -= 1)),
  );
}
await Promise.all(pending);
const elapsed = (Date.now() - started) / 1000;
clearInterval(rssSampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number): string => (sorted.length === 0 ? 'n/a' : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2));
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const systemctlRuns = await host.systemctlCalls();

console.table({
  'target rate (scrapes/s)': rate,
  'achieved rate (scrapes/s)': Number((latencies.length / elapsed).toFixed(1)),
  'scrapes ok': latencies.length,
  'errors': errors,
  'skipped (100 in flight)': skipped,
  'p50 /metrics latency (ms)': pct(50),
  'p99 /metrics latency (ms)': pct(99),
  'max /metrics latency (ms)': sorted.length ? (sorted[sorted.length - 1] ?? 0).toFixed(2) : 'n/a',
  'RSS before (MiB)': mib(rssBefore),
  'RSS peak (MiB)': mib(peakRss),
  'systemctl runs': systemctlRuns,
});

agent.destroy();
await server.close(1000);
await exporter.close();
await host.cleanup();
process.exitCode = errors === 0 ? 0 : 1;
