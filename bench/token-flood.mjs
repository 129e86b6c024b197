// A holder of the webhook's token flooding POST /alertmanager: --clients concurrent connections, each
// sending a body of --alerts firing trip alerts scoped to OTHER hosts (ess_host=elsewhere-N, so none
// trips this host) and sending the next as soon as the answer is in, until --seconds are over or it is
// sent SIGTERM. Prints one JSON line when the first answers are in ({"ready":true}) and one at the
// end: requests sent and answered by code (0: no answer, the connection failed or timed out), the
// body size, and the answers' latency (p50, max, ms). Loopback only; --from spreads the clients over
// local addresses (every 127.0.0.0/8 address is free to a local user), so no per-address cap holds.
//   node token-flood.mjs --token-file F [--port 10170] [--clients 200] [--alerts 250] [--seconds 20]
//     [--from 127.0.0.2,127.0.0.3]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '10170' },
    'token-file': { type: 'string' },
    clients: { type: 'string', default: '200' },
    alerts: { type: 'string', default: '250' },
    seconds: { type: 'string', default: '20' },
    from: { type: 'string' },
  },
});
const token = readFileSync(values['token-file'], 'utf8').trim();
const clients = Number(values.clients);
const agent = new Agent({ keepAlive: true, maxSockets: clients });
const from = values.from?.split(',') ?? [];

/** One body: distinct fingerprints per client, so nothing is deduplicated away by accident. */
function body(client) {
  const alerts = Array.from({ length: Number(values.alerts) }, (_, i) => ({
    status: 'firing',
    labels: { alertname: 'FleetNoise', ess_trip: 'true', ess_host: `elsewhere-${i % 40}` },
    annotations: {}, startsAt: '2026-12-06T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p',
    fingerprint: `${client.toString(16).padStart(4, '0')}${i.toString(16).padStart(12, '0')}`,
  }));
  return Buffer.from(JSON.stringify({
    version: '4', groupKey: `{}:{alertname="FleetNoise${client}"}`, truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
    groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093', alerts,
  }));
}

const codes = {};
const latencies = [];
let sent = 0;
let ready = false;
let stopping = false;

function post(payload, localAddress) {
  const started = process.hrtime.bigint();
  sent += 1;
  return new Promise((resolve) => {
    const finish = (code) => {
      codes[code] = (codes[code] ?? 0) + 1;
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (!ready) {
        ready = true;
        process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
      }
      resolve();
    };
    const req = request({
      host: '127.0.0.1', port: Number(values.port), path: '/alertmanager', method: 'POST', agent, timeout: 10_000, localAddress,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': payload.length },
    }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => finish(0));
    req.end(payload);
  });
}

async function client(i) {
  const payload = body(i);
  const localAddress = from.length === 0 ? undefined : from[i % from.length];
  while (!stopping) await post(payload, localAddress);
}

function report() {
  const ms = latencies.slice().sort((a, b) => a - b);
  const pct = (p) => ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] ?? null;
  process.stdout.write(`${JSON.stringify({ sent, answered: codes, bodyBytes: body(0).length, p50: pct(50), max: ms.at(-1) ?? null })}\n`);
}

process.on('SIGTERM', () => {
  report();
  process.exit(0);
});
setTimeout(() => {
  stopping = true;
}, Number(values.seconds) * 1000);
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
report();
