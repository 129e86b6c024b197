// Runs INSIDE a provisioned sandbox (see webhook.bench.ts): POSTs firing trip alerts to the exporter's
// webhook at a fixed rate, each with its own fingerprint, and reports response latencies (200 = trip
// request durably written), the time from the first POST to the latch flag on disk, and how long the
// root side took to drain the spool. Loopback only; bounded by --rate x --seconds requests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '5' } } });
const rate = Number(values.rate);
const total = rate * Number(values.seconds);
const token = readFileSync('/etc/quantum/ess-webhook.token', 'utf8').trim();
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const FLAG = '/run/quantum/ESS_ON';
const INCOMING = '/var/spool/quantum-ess/incoming';

function payload(i) {
  return JSON.stringify({
    version: '4', groupKey: `{}:{alertname="BenchTrip${i}"}`, truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
    groupLabels: { alertname: `BenchTrip${i}` }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
    alerts: [{
      status: 'firing', labels: { alertname: `BenchTrip${i}`, ess_trip: 'true' }, annotations: {},
      startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://127.0.0.1:9090', fingerprint: `bench${i.toString(16).padStart(12, '0')}`,
    }],
  });
}

function post(i) {
  const body = payload(i);
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1', port: 10170, path: '/alertmanager', method: 'POST', agent, timeout: 10_000,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ code: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ code: 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    req.end(body);
  });
}

const t0 = process.hrtime.bigint();
let flagMs = null;
const flagWatch = setInterval(() => {
  if (flagMs === null && existsSync(FLAG)) flagMs = Number(process.hrtime.bigint() - t0) / 1e6;
}, 1);
const pending = [];
for (let i = 0; i < total; i += 1) {
  const due = t0 + BigInt(Math.round((i * 1e9) / rate));
  const wait = Number(due - process.hrtime.bigint()) / 1e6;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(post(i));
}
const results = await Promise.all(pending);
const sentMs = Number(process.hrtime.bigint() - t0) / 1e6;
let drainedMs = null;
for (let i = 0; i < 3000 && drainedMs === null; i += 1) {
  // the exporter cannot list incoming/, but root can (this runs as root inside the sandbox)
  if (readdirSync(INCOMING).length === 0) drainedMs = Number(process.hrtime.bigint() - t0) / 1e6 - sentMs;
  else await new Promise((r) => setTimeout(r, 10));
}
clearInterval(flagWatch);
const ms = results.map((r) => r.ms).sort((a, b) => a - b);
const pct = (p) => ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)];
console.log(JSON.stringify({
  requests: results.length, ok: results.filter((r) => r.code === 200).length,
  p50: pct(50), p99: pct(99), max: ms.at(-1), flagMs, drainedMs,
}));
