// Runs INSIDE a provisioned sandbox (root): 16 concurrent maximum-size hostile webhook bodies, sent again as
// soon as each is answered, for --seconds, with the valid token (a compromised or broken sender). Meanwhile
// it scrapes /metrics back to back (the event loop must not block) and samples the exporter's RSS.
// Body kinds, all of webhook_body_limit_bytes: a million-element array (refused before parsing), a deep
// nesting (refused before parsing), the largest array the pre-scan lets through beside a valid payload,
// and 2000 valid alerts no trip rule matches (parsed, validated, ignored).
//   node hostile-bodies.mjs --pid N [--seconds 5] [--limit 1048576]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { pid: { type: 'string' }, seconds: { type: 'string', default: '5' }, limit: { type: 'string', default: String(1024 * 1024) } },
});
const limit = Number(values.limit);
const token = readFileSync('/etc/quantum/ess-webhook.token', 'utf8').trim();
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function pad(prefix, filler, suffix) {
  const room = limit - prefix.length - suffix.length;
  return prefix + filler.repeat(Math.floor(room / filler.length)) + suffix;
}
function alerts() {
  const alert = (i) =>
    JSON.stringify({
      status: 'firing', labels: { alertname: `Noise${i}`, instance: 'x'.repeat(200) }, annotations: { summary: 'y'.repeat(100) },
      startsAt: '2026-11-26T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090', fingerprint: `f${i}`,
    });
  const list = [];
  let size = 300;
  for (let i = 0; i < 2000 && size + 600 < limit; i += 1) {
    const a = alert(i);
    size += a.length + 1;
    list.push(a);
  }
  return `{"version":"4","groupKey":"g","truncatedAlerts":0,"status":"firing","receiver":"r","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[${list.join(',')}]}`;
}
const valid = '"version":"4","groupKey":"g","truncatedAlerts":0,"status":"firing","receiver":"r","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[]';
const bodies = [
  pad('{"version":"4","alerts":[', '1,', '1]}'),
  pad('', '[', '').slice(0, limit / 2) + ']'.repeat(limit / 2),
  `{${valid},"x":[${'1,'.repeat(99_000)}1]}`,
  alerts(),
].map((text) => Buffer.from(text));

function post(body) {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1', port: 10170, path: '/alertmanager', method: 'POST', agent, timeout: 30_000,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function scrape() {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: 10170, path: '/metrics', timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.on('error', () => resolve(Number.NaN));
    req.end();
  });
}

const rss = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${values.pid}/status`, 'utf8'))?.[1]) / 1024;
const rssBefore = rss();
let peak = rssBefore;
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
const deadline = Date.now() + Number(values.seconds) * 1000;
const codes = {};
let sent = 0;
const workers = Array.from({ length: 16 }, async (_, i) => {
  for (let n = i; Date.now() < deadline; n += 1) {
    const code = await post(bodies[n % bodies.length]);
    sent += 1;
    codes[code] = (codes[code] ?? 0) + 1;
  }
});
const scrapes = [];
const scraper = (async () => {
  while (Date.now() < deadline) scrapes.push(await scrape());
})();
await Promise.all([...workers, scraper]);
clearInterval(sampler);
peak = Math.max(peak, rss());
agent.destroy();
const sorted = scrapes.filter((ms) => !Number.isNaN(ms)).sort((a, b) => a - b);
console.log(JSON.stringify({
  bodyBytes: bodies.map((b) => b.length), sent, codes, rssBeforeMiB: rssBefore, rssPeakMiB: peak,
  scrapes: sorted.length, scrapeFailures: scrapes.length - sorted.length,
  scrapeP50: sorted[Math.floor(sorted.length / 2)] ?? null, scrapeMax: sorted.at(-1) ?? null,
}));
