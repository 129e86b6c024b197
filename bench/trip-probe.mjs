// Runs INSIDE a provisioned sandbox as root: one genuine trip as Alertmanager sends it (one firing
// alert with ess_trip="true", a fresh fingerprint, the token from /etc/quantum/ess-webhook.token), and
// when it latched. Prints one JSON line, times in ms from the POST: answered (the HTTP status, null
// when no answer came within --timeout-ms, Alertmanager's default 10 s), latched (a request in the
// spool's incoming/: from then on systemd refuses every start of a trading unit), flag (the
// controller's latch flag written); and the alert's fingerprint. null: not seen within --watch-ms.
//   node trip-probe.mjs [--port 10170] [--timeout-ms 10000] [--watch-ms 30000]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '10170' }, 'timeout-ms': { type: 'string', default: '10000' }, 'watch-ms': { type: 'string', default: '30000' } },
});
const INCOMING = '/var/spool/quantum-ess/incoming';
const FLAG = '/run/quantum/ESS_ON';
const token = readFileSync('/etc/quantum/ess-webhook.token', 'utf8').trim();
const fingerprint = `probe${Date.now().toString(16)}`;
const body = Buffer.from(JSON.stringify({
  version: '4', groupKey: '{}:{alertname="GenuineTrip"}', truncatedAlerts: 0, status: 'firing', receiver: 'quantum-ess',
  groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093',
  alerts: [{ status: 'firing', labels: { alertname: 'GenuineTrip', ess_trip: 'true' }, annotations: {},
    startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://p', fingerprint }],
}));

const t0 = process.hrtime.bigint();
const since = () => Number(process.hrtime.bigint() - t0) / 1e6;
const result = { fingerprint, code: null, answered: null, latched: null, flag: null };
const answered = new Promise((resolve) => {
  const req = request({
    host: '127.0.0.1', port: Number(values.port), path: '/alertmanager', method: 'POST', timeout: Number(values['timeout-ms']),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': body.length },
  }, (res) => {
    res.resume();
    res.on('end', () => {
      result.code = res.statusCode;
      result.answered = since();
      resolve();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => resolve());
  req.end(body);
});
const watched = new Promise((resolve) => {
  const watch = setInterval(() => {
    if (result.latched === null && readdirSync(INCOMING).length > 0) result.latched = since();
    if (result.flag === null && existsSync(FLAG)) result.flag = since();
    if ((result.latched !== null && result.flag !== null) || since() > Number(values['watch-ms'])) {
      clearInterval(watch);
      resolve();
    }
  }, 1);
});
await Promise.all([answered, watched]);
console.log(JSON.stringify(result));
