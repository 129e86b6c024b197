// Webhook under load on real systemd (a sandbox, needs root): firing trip alerts POSTed at 200/s for
// 5 s, each with its own fingerprint, so every one is a trip request written durably and consumed by
// the root side. The flood itself runs inside the sandbox (bench/webhook-flood.mjs): private network.
// Then the hostile side: 16 concurrent maximum-size hostile bodies (bench/hostile-bodies.mjs: RSS and
// scrape latency meanwhile), and 30,000 idle connections held by a local user (bench/idle-flood.mjs)
// while Alertmanager POSTs a trip and Prometheus scrapes. Last, a holder of the token floods the
// receiver from 200 clients with 60 KiB bodies of 250 alerts for other hosts (bench/token-flood.mjs,
// as nobody) while genuine trips are sent one after the other (bench/trip-probe.mjs, deactivated
// in between): each must be answered within Alertmanager's 10 s and latch while the flood lasts.
//   npx tsx bench/webhook.bench.ts [--rate N] [--seconds N] [--hostile-seconds N] [--idle-connections N]
//                                  [--flood-trips N]
import { parseArgs } from 'node:util';
import { Sandbox } from '../sandbox/sandbox.js';
import { report, verdict } from './report.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    'hostile-seconds': { type: 'string', default: '5' },
    'idle-connections': { type: 'string', default: '30000' },
    'flood-trips': { type: 'string', default: '5' },
  },
});

interface HostileResult {
  bodyBytes: number[];
  sent: number;
  codes: Record<string, number>;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  scrapes: number;
  scrapeFailures: number;
  scrapeP50: number | null;
  scrapeMax: number | null;
}

interface FloodResult {
  requests: number;
  ok: number;
  p50: number;
  p99: number;
  max: number;
  flagMs: number | null;
  drainedMs: number | null;
}

interface Probe {
  code: number | null;
  answered: number | null;
  latched: number | null;
}

/** Genuine trips during a token holder's flood, each deactivated after it latched. */
async function tripsDuringTokenFlood(box: Sandbox, trips: number): Promise<{ probes: Probe[]; flood: string }> {
  await box.mustRun('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start', '--reason', 'bench: token flood next');
  await box.mustRun('bash', '-c', `
    install -o nobody -m 0400 /etc/quantum/ess-webhook.token /tmp/flood.token
    setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/node /opt/quantum-ess-src/bench/token-flood.mjs \\
      --token-file /tmp/flood.token --clients 200 --alerts 250 --seconds ${10 + trips * 8} > /tmp/token-flood.out 2>&1 &
    for i in $(seq 300); do grep -q ready /tmp/token-flood.out && exit 0; sleep 0.1; done; exit 1`);
  const probes: Probe[] = [];
  for (let i = 0; i < trips; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    probes.push(JSON.parse(await box.mustRun('/usr/bin/node', '/opt/quantum-ess-src/bench/trip-probe.mjs', '--watch-ms', '10000')) as Probe);
    // a trip that latched late (after the watch) is cleared here too; its row then says never
    await box.run('/usr/local/sbin/ess_controller.sh', 'deactivate', '--no-start', '--reason', 'bench: next trip');
  }
  await box.run('pkill', '-TERM', '-u', 'nobody', '-f', 'token-flood.mjs');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const flood = (await box.readFile('/tmp/token-flood.out')).trim().split('\n').pop() ?? '';
  return { probes, flood };
}

const box = await Sandbox.boot('ess-bench-webhook');
let tokenFlood: Awaited<ReturnType<typeof tripsDuringTokenFlood>>;
let result: FloodResult;
let hostile: HostileResult;
let idle: { connections: number; tripCode: string; tripMs: number; scrapeCode: string; scrapeMs: number; rssMiB: number };
try {
  const out = await box.mustRun(
    '/usr/bin/node', '/opt/quantum-ess-src/bench/webhook-flood.mjs', '--rate', values.rate, '--seconds', values.seconds,
  );
  result = JSON.parse(out) as FloodResult;
  const pid = (await box.mustRun('systemctl', 'show', '-P', 'MainPID', 'quantum-ess-exporter.service')).trim();
  hostile = JSON.parse(
    await box.mustRun('/usr/bin/node', '/opt/quantum-ess-src/bench/hostile-bodies.mjs', '--pid', pid, '--seconds', values['hostile-seconds']),
  ) as HostileResult;
  // a local user (nobody) holds the idle connections, 10,000 per process (its descriptor limit)
  const wanted = Number(values['idle-connections']);
  const processes = Math.max(1, Math.ceil(wanted / 10_000));
  const idleOut = await box.sh(`
    set -u
    for i in $(seq ${processes}); do
      setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/node /opt/quantum-ess-src/bench/idle-flood.mjs \
        --port 10170 --connections ${Math.ceil(wanted / processes)} > /tmp/idle-flood.$i 2>&1 &
    done
    for t in $(seq 1200); do
      n=0; for i in $(seq ${processes}); do [ -s /tmp/idle-flood.$i ] && n=$((n + 1)); done
      [ $n -eq ${processes} ] && break; sleep 0.1
    done
    opened=0; for i in $(seq ${processes}); do o=$(sed -n 's/.*"opened":\\([0-9]*\\).*/\\1/p' /tmp/idle-flood.$i); opened=$((opened + \${o:-0})); done
    token=$(cat /etc/quantum/ess-webhook.token)
    body='{"version":"4","groupKey":"g","truncatedAlerts":0,"status":"firing","receiver":"quantum-ess","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"IdleFloodTrip","ess_trip":"true"},"annotations":{},"startsAt":"2026-11-26T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p","fingerprint":"idleflood1"}]}'
    trip=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$body" http://127.0.0.1:10170/alertmanager)
    scrape=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 http://127.0.0.1:10170/metrics)
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/${pid}/status)
    pkill -KILL -u nobody -f idle-flood.mjs || true
    echo "$opened $trip $scrape $rss"`);
  if (idleOut.exitCode !== 0) throw new Error(`idle connection phase failed: ${idleOut.stdout}\n${idleOut.stderr}`);
  const [connections, tripCode, tripS, scrapeCode, scrapeS, rssKb] = (idleOut.stdout.trim().split('\n').pop() ?? '').split(/\s+/);
  idle = {
    connections: Number(connections),
    tripCode: tripCode ?? '?',
    tripMs: Number(tripS) * 1000,
    scrapeCode: scrapeCode ?? '?',
    scrapeMs: Number(scrapeS) * 1000,
    rssMiB: Number(rssKb) / 1024,
  };
  tokenFlood = await tripsDuringTokenFlood(box, Number(values['flood-trips']));
} finally {
  await box.shutdown();
}
const fmt = (v: number | null): string => (v === null ? 'never' : v.toFixed(1));
const bodies = `${Math.max(...hostile.bodyBytes)} bytes at most for ${values['hostile-seconds']} s`;
report(`Webhook and the exporter under load and hostile clients (${values.rate} req/s for ${values.seconds} s)`, [
  {
    figure: 'webhook POST -> request durably written, p50 / p99 / max ms',
    ess: `${fmt(result.p50)} / ${fmt(result.p99)} / ${fmt(result.max)} (${result.ok} of ${result.requests} 200 OK)`,
    reference: '',
    goal: 'every request answered 200',
    result: verdict(result.ok === result.requests),
  },
  {
    figure: 'first POST -> latch flag on disk / spool drained after the last POST, ms',
    ess: `${fmt(result.flagMs)} / ${fmt(result.drainedMs)}`,
    reference: '',
    goal: '',
    result: '',
  },
  {
    figure: `RSS peak MiB, 16 concurrent hostile bodies of ${bodies} (${hostile.sent} sent, codes ${JSON.stringify(hostile.codes)})`,
    ess: `${hostile.rssPeakMiB.toFixed(1)} (from ${hostile.rssBeforeMiB.toFixed(1)})`,
    reference: '',
    goal: '<= 160 MiB',
    result: verdict(hostile.rssPeakMiB <= 160),
  },
  {
    figure: 'scrapes during the hostile bodies: longest ms (the event loop not blocked)',
    ess: `${fmt(hostile.scrapeMax)} (p50 ${fmt(hostile.scrapeP50)}, ${hostile.scrapes} scrapes, ${hostile.scrapeFailures} failed)`,
    reference: '',
    goal: 'none fails',
    result: verdict(hostile.scrapeFailures === 0 && hostile.scrapes > 0),
  },
  {
    figure: `trip POST / scrape with ${idle.connections} idle connections of a local user`,
    ess: `${idle.tripCode} in ${idle.tripMs.toFixed(1)} ms / ${idle.scrapeCode} in ${idle.scrapeMs.toFixed(1)} ms (RSS ${idle.rssMiB.toFixed(1)} MiB)`,
    reference: '',
    goal: 'both 200 within 1 s',
    result: verdict(idle.tripCode === '200' && idle.scrapeCode === '200' && idle.tripMs < 1000 && idle.scrapeMs < 1000),
  },
  {
    figure: `genuine trips during a token holder's flood (200 clients, 60 KiB bodies of 250 alerts for other hosts; ${tokenFlood.flood}): answered / latched p50 / max ms`,
    ess: `${pair(tokenFlood.probes.map((p) => p.answered))} / ${pair(tokenFlood.probes.map((p) => p.latched))} (${tokenFlood.probes.length} trips)`,
    reference: 'before the delivery queue: no answer within 10 s, latched after 15-22 s',
    goal: 'every trip answered 200 within 10 s and latched',
    result: verdict(tokenFlood.probes.every((p) => p.code === 200 && p.answered !== null && p.answered < 10_000 && p.latched !== null)),
  },
]);

/** "p50 / max" of measured values, "never" for none. */
function pair(values: readonly (number | null)[]): string {
  const seen = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (seen.length < values.length || seen.length === 0) return `never (${seen.length} of ${values.length})`;
  return `${fmt(seen[Math.ceil(seen.length / 2) - 1] ?? null)}, ${fmt(seen.at(-1) ?? null)}`;
}
