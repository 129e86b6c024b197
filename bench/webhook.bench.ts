// Webhook under load on real systemd (a sandbox, needs root): firing trip alerts POSTed at 200/s for
// 5 s, each with its own fingerprint, so every one is a trip request written durably and consumed by
// the root side. The flood itself runs inside the sandbox (bench/webhook-flood.mjs): private network.
//   npx tsx bench/webhook.bench.ts [--rate N] [--seconds N]
import { parseArgs } from 'node:util';
import { Sandbox } from '../sandbox/sandbox.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '5' } } });

interface FloodResult {
  requests: number;
  ok: number;
  p50: number;
  p99: number;
  max: number;
  flagMs: number | null;
  drainedMs: number | null;
}

const box = await Sandbox.boot('ess-bench-webhook');
let result: FloodResult;
try {
  const out = await box.mustRun(
    '/usr/bin/node', '/opt/quantum-ess-src/bench/webhook-flood.mjs', '--rate', values.rate, '--seconds', values.seconds,
  );
  result = JSON.parse(out) as FloodResult;
} finally {
  await box.shutdown();
}
const fmt = (v: number | null): string => (v === null ? 'never' : v.toFixed(1));
console.log(`\nWebhook POST -> trip request durably written, ${values.rate} req/s for ${values.seconds} s (real systemd sandbox)`);
console.table({
  webhook: {
    requests: result.requests,
    '200 OK': result.ok,
    'p50 ms': fmt(result.p50),
    'p99 ms': fmt(result.p99),
    'max ms': fmt(result.max),
    'first POST -> latch flag on disk ms': fmt(result.flagMs),
    'spool drained after last POST ms': fmt(result.drainedMs),
  },
});
