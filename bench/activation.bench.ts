// Activation latency on REAL systemd (a sandbox, needs root): for each way of tripping the ESS, N cycles
// of trip -> all trading units stopped -> deactivate -> units back up. Two figures per cycle:
//   end to end: from just before the trigger (command start, touch, HTTP POST) to the moment the
//               controller saw the last trading unit inactive (state.env ACT_STOPPED_US)
//   controller: the latency the ESS itself reports (ess_last_activation_latency_seconds)
//   npx tsx bench/activation.bench.ts [--cycles N] [--methods command,path,webhook]
import { parseArgs } from 'node:util';
import { Sandbox, TRADING } from '../test/integration/helpers/sandbox.js';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '50' }, methods: { type: 'string', default: 'command,path,webhook' } },
});
const cycles = Number(values.cycles);
const TARGET_MS = 250;
const LIMIT_MS = 2000;

// Runs inside the sandbox: one bash loop per method, so nsenter overhead is not measured.
const TRIGGERS: Record<string, string> = {
  command: 'ess_controller.sh activate --source bench --reason "bench $i" >/dev/null 2>&1',
  path: 'touch /run/quantum/ESS_ON',
  webhook:
    'curl -fsS -o /dev/null -H "Authorization: Bearer $(cat /etc/quantum/ess-webhook.token)" -H "Content-Type: application/json" ' +
    `--data "{\\"version\\":\\"4\\",\\"groupKey\\":\\"bench\\",\\"truncatedAlerts\\":0,\\"status\\":\\"firing\\",\\"receiver\\":\\"quantum-ess\\",\\"groupLabels\\":{},\\"commonLabels\\":{},\\"commonAnnotations\\":{},\\"externalURL\\":\\"http://am\\",\\"alerts\\":[{\\"status\\":\\"firing\\",\\"labels\\":{\\"alertname\\":\\"Bench\\",\\"ess_trip\\":\\"true\\"},\\"annotations\\":{},\\"startsAt\\":\\"2026-01-01T00:00:00Z\\",\\"endsAt\\":\\"0001-01-01T00:00:00Z\\",\\"generatorURL\\":\\"http://prom\\",\\"fingerprint\\":\\"bench$i\\"}]}" ` +
    'http://127.0.0.1:10170/alertmanager',
};

function cycleScript(trigger: string): string {
  return `
    set -u
    value() { sed -n "s/^$1=//p" /var/lib/quantum-ess/state.env; }
    for i in $(seq ${cycles}); do
      before=$(value ACT_ID)
      t0=$(date +%s%6N)
      ${trigger}
      for _ in $(seq 2000); do
        id=$(value ACT_ID); stopped=$(value ACT_STOPPED_US)
        [ -n "$id" ] && [ "$id" != "$before" ] && [ -n "$stopped" ] && break
        sleep 0.002
      done
      echo "$t0 $stopped $(value ACT_LATENCY_US)"
      until [ "$(systemctl is-active quantum-ess-trigger.service quantum-ess-trip.service | sort -u | tr '\\n' ' ')" != "active " ] &&
            ess_controller.sh deactivate --no-start >/dev/null 2>&1; do sleep 0.01; done
      systemctl start ${TRADING.join(' ')}
    done`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const box = await Sandbox.boot('ess-bench');
const rows: Record<string, Record<string, string | number>> = {};
try {
  await box.mustRun('sed', '-i', 's/^START_SETTLE_SEC=.*/START_SETTLE_SEC=0/', '/etc/quantum/ess.conf');
  for (const method of values.methods.split(',')) {
    const trigger = TRIGGERS[method];
    if (trigger === undefined) throw new Error(`unknown method ${method}`);
    const out = await box.mustRun('bash', '-c', cycleScript(trigger));
    const samples = out
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number))
      .filter((f): f is [number, number, number] => f.length === 3 && f.every(Number.isFinite));
    const e2e = samples.map(([t0, stopped]) => (stopped - t0) / 1000).sort((a, b) => a - b);
    const ctl = samples.map(([, , latency]) => latency / 1000).sort((a, b) => a - b);
    rows[method] = {
      cycles: samples.length,
      'e2e p50 ms': percentile(e2e, 50).toFixed(1),
      'e2e p99 ms': percentile(e2e, 99).toFixed(1),
      'e2e max ms': (e2e.at(-1) ?? Number.NaN).toFixed(1),
      'controller p50 ms': percentile(ctl, 50).toFixed(1),
      'controller p99 ms': percentile(ctl, 99).toFixed(1),
      'target / limit ms': `${TARGET_MS} / ${LIMIT_MS}`,
    };
  }
} finally {
  await box.shutdown();
}
console.log(`\nESS activation latency on real systemd 252 (sandbox), ${cycles} cycles per method`);
console.table(rows);
