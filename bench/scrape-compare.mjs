// Runs INSIDE a sandbox (root): the ESS exporter and node_exporter's systemd collector for the same units,
// scraped in the same run. Prints one JSON object:
// - idle RSS of each (VmRSS after a few scrapes and 5 s of quiet);
// - scrape latency at a 1 s and at a 15 s interval, both targets at every tick (order alternating), over
//   a keep-alive agent as Prometheus uses (reconnecting when the server closed the idle connection);
// - CPU per 1000 scrapes: user+system time of each process across 1000 back-to-back scrapes.
// Every request carries the headers Prometheus (2.x, default settings) sends with a scrape, compression
// included, as the real scrapes would; --plain sends none.
//   node scrape-compare.mjs --ess-pid N --node-pid N [--scrapes-1s 120] [--scrapes-15s 20] [--burst 1000]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'ess-url': { type: 'string', default: 'http://127.0.0.1:10170/metrics' },
    'node-url': { type: 'string', default: 'http://127.0.0.1:9100/metrics' },
    'ess-pid': { type: 'string' },
    'node-pid': { type: 'string' },
    'scrapes-1s': { type: 'string', default: '120' },
    'scrapes-15s': { type: 'string', default: '20' },
    burst: { type: 'string', default: '1000' },
    'clk-tck': { type: 'string', default: '100' },
    plain: { type: 'boolean', default: false },
  },
});
const targets = {
  ess: { url: new URL(values['ess-url']), pid: Number(values['ess-pid']), agent: new Agent({ keepAlive: true, maxSockets: 1 }) },
  node: { url: new URL(values['node-url']), pid: Number(values['node-pid']), agent: new Agent({ keepAlive: true, maxSockets: 1 }) },
};
const headers = values.plain
  ? {}
  : {
      Accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'Accept-Encoding': 'gzip',
      'User-Agent': 'Prometheus/2.45.0',
      'X-Prometheus-Scrape-Timeout-Seconds': '10',
    };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function scrape(target) {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: target.url.hostname, port: target.url.port, path: target.url.pathname, agent: target.agent, headers, timeout: 10_000 }, (res) => {
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

function rssMiB(pid) {
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

function cpuMs(pid) {
  // fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / Number(values['clk-tck']);
}

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  return { n: sorted.length, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? null };
}

async function interval(ms, count) {
  const samples = { ess: [], node: [] };
  const errors = { ess: 0, node: 0 };
  const start = Date.now();
  for (let i = 0; i < count; i += 1) {
    const wait = start + i * ms - Date.now();
    if (wait > 0) await sleep(wait);
    const order = i % 2 === 0 ? ['ess', 'node'] : ['node', 'ess'];
    for (const name of order) {
      try {
        samples[name].push(await scrape(targets[name]));
      } catch {
        errors[name] += 1;
      }
    }
  }
  return { ess: { ...percentiles(samples.ess), errors: errors.ess }, node: { ...percentiles(samples.node), errors: errors.node } };
}

async function burst(name, count) {
  const before = cpuMs(targets[name].pid);
  const started = Date.now();
  for (let i = 0; i < count; i += 1) await scrape(targets[name]);
  const wallMs = Date.now() - started;
  return { cpuMsPer1000: ((cpuMs(targets[name].pid) - before) * 1000) / count, wallMs };
}

for (let i = 0; i < 5; i += 1) for (const name of ['ess', 'node']) await scrape(targets[name]);
await sleep(5000);
const idleRss = { ess: rssMiB(targets.ess.pid), node: rssMiB(targets.node.pid) };
const at1s = await interval(1000, Number(values['scrapes-1s']));
const at15s = await interval(15_000, Number(values['scrapes-15s']));
const count = Number(values.burst);
// each burst twice, alternating, and the lower of the two: another tenant's load only ever adds
const cpu = { ess: [], node: [] };
for (let round = 0; round < 2; round += 1) for (const name of ['ess', 'node']) cpu[name].push(await burst(name, count));
const best = (runs) => runs.reduce((a, b) => (b.cpuMsPer1000 < a.cpuMsPer1000 ? b : a));
console.log(JSON.stringify({ idleRss, at1s, at15s, cpu: { ess: best(cpu.ess), node: best(cpu.node) } }));
for (const target of Object.values(targets)) target.agent.destroy();
