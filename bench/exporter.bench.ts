// The exporter against node_exporter's systemd collector for the same units, in the same run, on real
// systemd 252 (a sandbox, needs root): scrape latency at 1 s and 15 s intervals, CPU per 1000 scrapes,
// idle RSS, unit state freshness, latch flag freshness, and transitions counted against systemd's
// journal. Prints one table row per figure with its goal (the issue's) and whether it is met.
//   npx tsx bench/exporter.bench.ts [--scrapes-1s N] [--scrapes-15s N] [--burst N] [--freshness-cycles N] [--flag-cycles N] [--toggles N]
import { parseArgs } from 'node:util';
import { Sandbox } from '../sandbox/sandbox.js';
import { ensureNodeExporter } from './node-exporter.js';
import { type BenchRow, report, verdict } from './report.js';

const { values } = parseArgs({
  options: {
    'scrapes-1s': { type: 'string', default: '120' },
    'scrapes-15s': { type: 'string', default: '20' },
    burst: { type: 'string', default: '1000' },
    'freshness-cycles': { type: 'string', default: '25' },
    'flag-cycles': { type: 'string', default: '30' },
    toggles: { type: 'string', default: '20' },
  },
});

interface Percentiles {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  errors?: number;
}
interface Compare {
  idleRss: { ess: number; node: number };
  at1s: { ess: Percentiles; node: Percentiles };
  at15s: { ess: Percentiles; node: Percentiles };
  cpu: { ess: { cpuMsPer1000: number; wallMs: number }; node: { cpuMsPer1000: number; wallMs: number } };
}
interface Freshness {
  samples: number;
  missed: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}
interface FlagFreshness extends Freshness {
  floor: Omit<Freshness, 'missed'>;
}

// A second exporter, as the installed one runs (same binary, user and flags), whose ess.conf names a
// flag in a directory of its own: creating and removing the installed switch's flag would trip it.
const FLAG_EXPORTER = `
set -Eeuo pipefail
argv=$(systemctl show -P ExecStart quantum-ess-exporter.service | sed -n 's/.*argv\\[\\]=\\([^;]*\\) ;.*/\\1/p')
conf=$(sed -n 's/.*--ess-config \\([^ ]*\\).*/\\1/p' <<<"$argv")
install -d -m 0755 /run/ess-bench-flag /etc/quantum-bench
sed 's|^FLAG_FILE=.*|FLAG_FILE=/run/ess-bench-flag/ESS_ON|' "$conf" >/etc/quantum-bench/ess.conf
read -ra words < <(sed -e 's|--ess-config [^ ]*|--ess-config /etc/quantum-bench/ess.conf|' -e 's| --systemd-socket||' <<<"$argv")
systemd-run --unit=bench-flag-exporter --quiet -p User=quantum-ess -p Group=quantum-ess "\${words[@]}" --web.listen-address 127.0.0.1:10171
for _ in $(seq 100); do curl -fs http://127.0.0.1:10171/metrics >/dev/null && exit 0; sleep 0.1; done; exit 1`;

const UNIT = 'quantum-execution.service';
const UNITS_RE = '(quantum-.*|grafana-server|redis-server|prometheus)\\.(service|path)';
const nodeExporter = await ensureNodeExporter();
const box = await Sandbox.boot('ess-bench-exporter');
const rows: BenchRow[] = [];
const fmt = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

try {
  // node_exporter with only its systemd collector, limited to the units the ESS exporter reports
  await box.mustRun(
    'systemd-run', '--unit=bench-node-exporter', '--quiet', '-p', 'User=nobody', '-p', 'Group=nogroup',
    nodeExporter.sandboxPath, '--web.listen-address=127.0.0.1:9100', '--collector.disable-defaults', '--collector.systemd',
    `--collector.systemd.unit-include=${UNITS_RE}`,
  );
  await box.sh('for i in $(seq 100); do curl -fs http://127.0.0.1:9100/metrics >/dev/null && exit 0; sleep 0.1; done; exit 1');
  const essPid = await box.show('quantum-ess-exporter.service', 'MainPID');
  const nodePid = await box.show('bench-node-exporter.service', 'MainPID');
  const clkTck = (await box.mustRun('getconf', 'CLK_TCK')).trim();

  // transitions: N stop/start cycles, counted by the exporter and recorded by systemd's journal
  const toggles = Number(values.toggles);
  const counter = async (state: string): Promise<number> => {
    const text = await box.mustRun('curl', '-fsS', 'http://127.0.0.1:10170/metrics');
    const series = `ess_unit_state_transitions_total{unit="${UNIT}",role="trading",state="${state}"} `;
    return Number(text.split('\n').find((line) => line.startsWith(series))?.slice(series.length));
  };
  const journal = async (type: string): Promise<number> =>
    (await box.mustRun('journalctl', '--no-pager', '-b', '-o', 'json', `UNIT=${UNIT}`, `JOB_TYPE=${type}`, 'JOB_RESULT=done'))
      .split('\n')
      .filter((line) => line.trim() !== '').length;
  const before = { active: await counter('active'), inactive: await counter('inactive'), start: await journal('start'), stop: await journal('stop') };
  for (let i = 0; i < toggles; i += 1) {
    await box.mustRun('systemctl', 'stop', UNIT);
    await box.mustRun('systemctl', 'reset-failed', UNIT);
    await box.mustRun('systemctl', 'start', UNIT);
  }
  await box.sh('sleep 1');
  const seen = (await counter('active')) - before.active + (await counter('inactive')) - before.inactive;
  const recorded = (await journal('start')) - before.start + (await journal('stop')) - before.stop;

  const freshness = async (format: 'ess' | 'node', url: string): Promise<Freshness> =>
    JSON.parse(
      await box.mustRun('/usr/bin/node', '/opt/quantum-ess-src/bench/unit-freshness.mjs', '--format', format, '--url', url, '--unit', UNIT, '--cycles', values['freshness-cycles']),
    ) as Freshness;
  const fresh = { ess: await freshness('ess', 'http://127.0.0.1:10170/metrics'), node: await freshness('node', 'http://127.0.0.1:9100/metrics') };

  await box.mustRun('bash', '-c', FLAG_EXPORTER);
  const flagFresh = JSON.parse(
    await box.mustRun('/usr/bin/node', '/opt/quantum-ess-src/bench/flag-freshness.mjs', '--url', 'http://127.0.0.1:10171/metrics', '--flag', '/run/ess-bench-flag/ESS_ON', '--cycles', values['flag-cycles']),
  ) as FlagFreshness;
  await box.mustRun('systemctl', 'stop', 'bench-flag-exporter.service');

  const compare = JSON.parse(
    await box.mustRun(
      '/usr/bin/node', '/opt/quantum-ess-src/bench/scrape-compare.mjs', '--ess-pid', essPid, '--node-pid', nodePid, '--clk-tck', clkTck,
      '--scrapes-1s', values['scrapes-1s'], '--scrapes-15s', values['scrapes-15s'], '--burst', values.burst,
    ),
  ) as Compare;

  const source = (await box.mustRun('curl', '-fsS', 'http://127.0.0.1:10170/metrics')).includes('ess_exporter_unit_source{source="dbus"} 1') ? 'dbus' : 'none (not subscribed)';
  const latencyRow = (label: string, r: { ess: Percentiles; node: Percentiles }): void => {
    rows.push({
      figure: `scrape p50 / p99 ms, ${label} (n=${r.ess.n})`,
      ess: `${fmt(r.ess.p50, 2)} / ${fmt(r.ess.p99, 2)}`,
      reference: `node_exporter ${fmt(r.node.p50, 2)} / ${fmt(r.node.p99, 2)}`,
      goal: 'p99 <= 5 ms',
      result: verdict(r.ess.p99 !== null && r.ess.p99 <= 5 && (r.ess.errors ?? 0) === 0),
    });
  };
  latencyRow('1 s interval', compare.at1s);
  latencyRow('15 s interval', compare.at15s);
  const cpuRatio = compare.cpu.ess.cpuMsPer1000 / compare.cpu.node.cpuMsPer1000;
  rows.push({
    figure: `CPU ms per 1000 scrapes (${values.burst} back to back)`,
    ess: fmt(compare.cpu.ess.cpuMsPer1000, 0),
    reference: `node_exporter ${fmt(compare.cpu.node.cpuMsPer1000, 0)}`,
    goal: '<= 1/5 of node_exporter',
    result: `${verdict(cpuRatio <= 0.2)} (${fmt(cpuRatio, 2)}x)`,
  });
  rows.push({
    figure: 'RSS idle MiB',
    ess: fmt(compare.idleRss.ess),
    reference: `node_exporter ${fmt(compare.idleRss.node)}`,
    goal: '<= 70 MiB',
    result: verdict(compare.idleRss.ess <= 70),
  });
  rows.push({
    figure: `freshness p50 / p99 / max ms (${fresh.ess.samples} changes)`,
    ess: `${fmt(fresh.ess.p50)} / ${fmt(fresh.ess.p99)} / ${fmt(fresh.ess.max)}`,
    reference: `node_exporter ${fmt(fresh.node.p50)} / ${fmt(fresh.node.p99)} / ${fmt(fresh.node.max)} (read at scrape)`,
    goal: 'p99 <= 50 ms',
    result: verdict(fresh.ess.p99 !== null && fresh.ess.p99 <= 50 && fresh.ess.missed === 0),
  });
  rows.push({
    figure: `flag freshness p50 / p99 / max ms (${flagFresh.samples} creates and removals)`,
    ess: `${fmt(flagFresh.p50)} / ${fmt(flagFresh.p99)} / ${fmt(flagFresh.max)}`,
    reference: `one scrape, nothing changed: ${fmt(flagFresh.floor.p50)} / ${fmt(flagFresh.floor.p99)} / ${fmt(flagFresh.floor.max)}`,
    goal: 'p99 <= 50 ms',
    result: verdict(flagFresh.p99 !== null && flagFresh.p99 <= 50 && flagFresh.missed === 0),
  });
  rows.push({
    figure: `transitions counted / in systemd's journal (${toggles} stop+start)`,
    ess: `${seen} / ${recorded}`,
    reference: 'node_exporter: no counter',
    goal: 'none missed',
    result: verdict(seen === recorded && recorded === 2 * toggles),
  });
  rows.push({ figure: 'unit state source', ess: source, reference: 'node_exporter: D-Bus at every scrape', goal: 'dbus', result: verdict(source === 'dbus') });
} finally {
  await box.shutdown();
}

report(`ESS exporter against node_exporter ${nodeExporter.version} (systemd collector only, the same 11 units)`, rows);
