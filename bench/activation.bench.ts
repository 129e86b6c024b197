// Activation latency on REAL systemd (a sandbox, needs root), each ESS method interleaved with its floor:
// the same stop done by bare systemd in the same run, cycle by cycle.
//   start: CLOCK_MONOTONIC read in the sandbox just before the trigger
//   end:   systemd's own InactiveEnterTimestampMonotonic of the last trading unit to go down
// Also compares the latency the ESS records (state.json) with the one measured here, and, with one on-trip
// action installed (the shipped http-cancel-all against the stand-in venue, sandbox/venue.mjs), the same
// stop against the one without any action in the same cycles, and trip -> orders cancelled at the venue
// (the venue's own CLOCK_MONOTONIC when the cancel-all emptied the account).
//   npx tsx bench/activation.bench.ts [--cycles N]
import { parseArgs } from 'node:util';
import { Sandbox, TRADING } from '../sandbox/sandbox.js';
import { type BenchRow, report, verdict } from './report.js';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '50' } } });
const cycles = Number(values.cycles);
const UNITS = TRADING.join(' ');

// Floors: the least systemd needs for the same stop.
const FLOOR_UNITS = `
[Unit]
Description=bench floor: a oneshot that stops the trading units
[Service]
Type=oneshot
ExecStart=/usr/bin/systemctl stop ${UNITS}
`;
const FLOOR_PATH = `
[Path]
PathExists=/run/bench-floor/FLAG
Unit=bench-floor-trigger.service
`;
const FLOOR_TRIGGER = `
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/systemctl stop ${UNITS}
`;

interface Method {
  readonly name: string;
  readonly floorOf?: string;
  readonly trigger: string;
  /** Waits until the method is done with its own bookkeeping (not part of the measurement). */
  readonly settle: string;
  readonly reset: string;
  readonly ess: boolean;
  /** Run before t0 (building a request, opening its connection). */
  readonly prepare?: string;
  /** The trigger sets t0 and end itself (POST -> latched); otherwise end is the last unit down. */
  readonly ownClock?: boolean;
  /**
   * Where the ESS's own record starts, when not at t0: `systemctl start quantum-ess` is recorded from
   * systemd's job start (the "Starting" line in the journal), after systemctl's own start-up.
   */
  readonly recordedFrom?: string;
  /** How long the trigger command kept its caller waiting after the last unit went down is a figure. */
  readonly returns?: boolean;
  /** Its settle sets $cancelled, when the venue cancelled the orders (CLOCK_MONOTONIC, microseconds): a figure. */
  readonly cancels?: boolean;
}

const ESS_SETTLE =
  'until [ "$(systemctl show -P ActiveState quantum-ess-trigger.service)" != activating ] && ' +
  '[ "$(systemctl show -P ActiveState quantum-ess-trip.service)" != activating ] && ' +
  '[ "$(systemctl show -P ActiveState quantum-ess.service)" != activating ] && ' +
  'grep -q "\\"active\\":true" /var/lib/quantum-ess/state.json; do sleep 0.005; done';
const ESS_RESET = 'ess_controller.sh deactivate --no-start >/dev/null 2>&1';
// An Alertmanager notification for one alert; FP is its fingerprint (unique per cycle: the receiver
// drops a repeat of the same alert).
const alertBody = (fp: string): string =>
  `{\\"version\\":\\"4\\",\\"groupKey\\":\\"bench\\",\\"truncatedAlerts\\":0,\\"status\\":\\"firing\\",\\"receiver\\":\\"quantum-ess\\",\\"groupLabels\\":{},\\"commonLabels\\":{},\\"commonAnnotations\\":{},\\"externalURL\\":\\"http://am\\",\\"alerts\\":[{\\"status\\":\\"firing\\",\\"labels\\":{\\"alertname\\":\\"Bench\\",\\"ess_trip\\":\\"true\\"},\\"annotations\\":{},\\"startsAt\\":\\"2026-01-01T00:00:00Z\\",\\"endsAt\\":\\"0001-01-01T00:00:00Z\\",\\"generatorURL\\":\\"http://prom\\",\\"fingerprint\\":\\"${fp}\\"}]}`;
// The request is built and the connection opened before t0, and goes out on that socket (no client to
// start), so t0 is the request leaving, as Alertmanager's would: the ESS records from its arrival.
const RAW_POST = (fp: string): string =>
  `body="${alertBody(fp)}"; tok=$(cat /etc/quantum/ess-webhook.token); exec 3<>/dev/tcp/127.0.0.1/10170; ` +
  'printf -v req "POST /alertmanager HTTP/1.1\\r\\nHost: bench\\r\\nAuthorization: Bearer %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s" "$tok" "${#body}" "$body"';
// POST -> latched ends at the first instant systemd refuses a start: a request in the spool (the
// drop-in's AssertDirectoryNotEmpty=!) or the flag. A busy loop in bash watches for either.
const POST_LATCH =
  'mono t0; printf "%s" "$req" >&3; shopt -s nullglob; ' +
  'until q=(/var/spool/quantum-ess/incoming/*); ((${#q[@]} > 0)) || [ -e /run/quantum/ESS_ON ]; do :; done; mono end; shopt -u nullglob';

// One on-trip action: the shipped cancel-all, real mode, against the stand-in venue; its settings and
// credential stay in the directory, the executable is put there only for its method (a file with a dot
// is never an action), so every other method runs without any.
const VENUE = 'http://127.0.0.1:18080';
const VENUE_TOKEN = 'bench-venue-token';
const ACTIONS_DIR = '/etc/quantum/ess-actions.d';
const ACTION_SETUP =
  `systemd-run --unit=venue --quiet node /opt/quantum-ess-src/sandbox/venue.mjs 18080 ${VENUE_TOKEN} && ` +
  `for i in $(seq 200); do curl -fs ${VENUE}/admin/stats >/dev/null && break; sleep 0.05; done && ` +
  `(umask 077; printf '%s\\n' ${VENUE_TOKEN} > ${ACTIONS_DIR}/venue-a.cred) && ` +
  `printf '%s\\n' 'ESS_HTTP_CANCEL_URL=${VENUE}/orders?account=a' 'ESS_HTTP_VERIFY_URL=${VENUE}/orders?account=a' > ${ACTIONS_DIR}/venue-a.env`;
const ACTIVATE = 'ess_controller.sh activate --source bench --reason "bench $i" >/dev/null 2>&1';
// the cancel seen at the venue after t0 and the action's unit gone (at most 30 s: a failed action
// leaves $cancelled at 0, which is no sample)
const ACTION_SETTLE =
  `${ESS_SETTLE}; for n in $(seq 3000); do cancelled=$(curl -fsS ${VENUE}/admin/stats | grep -o '"cancelled_mono_us":[0-9]*' | cut -d: -f2); ` +
  `((\${cancelled:-0} > t0)) && [ -z "$(systemctl list-units --no-legend --state=active,activating,deactivating 'quantum-ess-action-*')" ] && break; sleep 0.01; done`;

const METHODS: readonly Method[] = [
  { name: 'floor: systemctl stop', trigger: `systemctl stop ${UNITS}`, settle: ':', reset: ':', ess: false },
  { name: 'ess_controller.sh activate', floorOf: 'floor: systemctl stop', trigger: ACTIVATE, settle: ESS_SETTLE, reset: ESS_RESET, ess: true, returns: true },
  {
    name: 'ess_controller.sh activate, one on-trip action',
    floorOf: 'ess_controller.sh activate',
    prepare: `curl -fsS -X POST '${VENUE}/admin/seed?account=a&n=5' >/dev/null; install -m 0755 /usr/local/lib/quantum-ess/actions/http-cancel-all ${ACTIONS_DIR}/venue-a`,
    trigger: ACTIVATE,
    settle: ACTION_SETTLE,
    reset: `${ESS_RESET}; rm -f ${ACTIONS_DIR}/venue-a`,
    ess: true,
    returns: true,
    cancels: true,
  },
  { name: 'floor: oneshot', trigger: 'systemctl start bench-floor.service', settle: ':', reset: ':', ess: false },
  {
    name: 'systemctl start quantum-ess',
    floorOf: 'floor: oneshot',
    trigger: 'systemctl start quantum-ess.service',
    settle: ESS_SETTLE,
    reset: ESS_RESET,
    ess: true,
    recordedFrom:
      'journalctl -u quantum-ess.service -o short-monotonic --no-pager | grep -F "Starting quantum-ess.service" | ' +
      "tail -1 | sed -E 's/^\\[ *([0-9]+)\\.([0-9]{6})\\].*/\\1\\2/'",
  },
  { name: 'floor: path unit', trigger: 'touch /run/bench-floor/FLAG', settle: 'until [ "$(systemctl show -P ActiveState bench-floor-trigger.service)" = active ]; do sleep 0.005; done', reset: 'rm -f /run/bench-floor/FLAG; systemctl stop bench-floor-trigger.service', ess: false },
  { name: 'touch the flag', floorOf: 'floor: path unit', trigger: 'touch /run/quantum/ESS_ON', settle: ESS_SETTLE, reset: ESS_RESET, ess: true },
  { name: 'webhook POST', floorOf: 'floor: path unit', prepare: RAW_POST('bench$i'), trigger: 'printf "%s" "$req" >&3', settle: ESS_SETTLE, reset: `exec 3<&-; ${ESS_RESET}`, ess: true },
  { name: 'webhook POST -> latched', prepare: RAW_POST('latch$i'), trigger: POST_LATCH, settle: ESS_SETTLE, reset: `exec 3<&-; ${ESS_RESET}`, ess: false, ownClock: true },
];

// One bash loop in the sandbox, methods interleaved cycle by cycle; one line per sample:
// METHOD_INDEX START_MONO_US END_MONO_US RECORDED_LATENCY_US|- RETURNED_MONO_US RECORDED_FROM_MONO_US
// CANCELLED_MONO_US|-
function benchScript(): string {
  const cases = METHODS.map(
    (m, index) => `
      ${index})
        ${m.prepare ?? ':'}
        ${m.ownClock ? m.trigger : `mono t0; ${m.trigger}`}
        mono ret
        ${m.settle}
        ${m.ownClock ? ':' : `end=0; for u in ${UNITS}; do t=$(systemctl show -P InactiveEnterTimestampMonotonic "$u"); ((t > end)) && end=$t; done`}
        rec=-
        ${m.ess ? 'rec=$(grep -o "\\"latency_seconds\\":[0-9.]*" /var/lib/quantum-ess/state.json | head -1 | cut -d: -f2 | tr -d .); rec=$((10#$rec))' : ':'}
        from=$t0
        ${m.recordedFrom ? `from=$(${m.recordedFrom})` : ':'}
        echo "${index} $t0 $end $rec $ret $from ${m.cancels === true ? '$cancelled' : '-'}"
        ${m.reset}
        ;;`,
  ).join('');
  return `
    set -u
    cancelled=0
    mono() { local a b ns; { read -r a; read -r a; read -r a b ns a; } </proc/timer_list; printf -v "$1" '%d' $((ns / 1000)); }
    mkdir -p /run/bench-floor
    for i in $(seq ${cycles}); do
      for m in $(seq 0 ${METHODS.length - 1}); do
        systemctl start ${UNITS}
        until [ "$(systemctl is-active ${UNITS} | sort -u)" = active ]; do sleep 0.01; done
        sleep 0.05
        case $m in ${cases}
        esac
      done
    done`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const box = await Sandbox.boot('ess-bench');
const samples = new Map<string, { e2e: number[]; diff: number[]; returned: number[]; cancelled: number[] }>(
  METHODS.map((m) => [m.name, { e2e: [], diff: [], returned: [], cancelled: [] }]),
);
try {
  await box.mustRun('sed', '-i', 's/^START_SETTLE_SEC=.*/START_SETTLE_SEC=0/', '/etc/quantum/ess.conf');
  await box.reinstall();
  await box.sh(
    `printf '%s' '${FLOOR_UNITS}' > /etc/systemd/system/bench-floor.service && ` +
      `printf '%s' '${FLOOR_PATH}' > /etc/systemd/system/bench-floor.path && ` +
      `printf '%s' '${FLOOR_TRIGGER}' > /etc/systemd/system/bench-floor-trigger.service && ` +
      'systemctl daemon-reload && mkdir -p /run/bench-floor && systemctl start bench-floor.path',
  );
  await box.sh(ACTION_SETUP);
  const out = await box.mustRun('bash', '-c', benchScript());
  for (const line of out.trim().split('\n')) {
    const [index, start, end, recorded, returned, from, cancelled] = line.split(' ');
    const method = METHODS[Number(index)];
    const e2eUs = Number(end) - Number(start);
    if (method === undefined || !Number.isFinite(e2eUs)) continue;
    const s = samples.get(method.name);
    s?.e2e.push(e2eUs / 1000);
    const measuredUs = Number(end) - Number(from ?? start);
    if (recorded !== '-' && recorded !== undefined) s?.diff.push(Math.abs(Number(recorded) - measuredUs) / 1000);
    // how long the trigger command kept its caller waiting after the last unit went down
    if (method.returns === true) s?.returned.push((Number(returned) - Number(end)) / 1000);
    if (cancelled !== '-' && Number(cancelled) > Number(start)) s?.cancelled.push((Number(cancelled) - Number(start)) / 1000);
  }
} finally {
  await box.shutdown();
}

interface Stats {
  readonly p50: number;
  readonly p99: number;
}
const stats = (values: readonly number[]): Stats => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};
const ms = ({ p50, p99 }: Stats): string => `${p50.toFixed(1)} / ${p99.toFixed(1)}`;
/** Each ESS method's goal against its floor (issue 10), as a test of the two sets of figures. */
const GOALS: Record<string, { text: string; met: (ess: Stats, floor: Stats) => boolean }> = {
  'ess_controller.sh activate': { text: 'p50 <= 1.5x, p99 <= 2x the floor', met: (e, f) => e.p50 <= 1.5 * f.p50 && e.p99 <= 2 * f.p99 },
  // the actions run after the stop: the stop with one is the stop without any, within the noise
  'ess_controller.sh activate, one on-trip action': { text: 'p50 <= 1.1x without any action', met: (e, f) => e.p50 <= 1.1 * f.p50 },
  'systemctl start quantum-ess': { text: 'p50 <= 1.3x the floor', met: (e, f) => e.p50 <= 1.3 * f.p50 },
  'touch the flag': { text: 'p50 <= 1.3x the floor', met: (e, f) => e.p50 <= 1.3 * f.p50 },
  'webhook POST': { text: 'p50 <= the floor + 15 ms', met: (e, f) => e.p50 <= f.p50 + 15 },
  'webhook POST -> latched': { text: 'p99 <= 10 ms', met: (e) => e.p99 <= 10 },
};
const rows: BenchRow[] = [];
for (const method of METHODS) {
  const s = samples.get(method.name);
  const goal = GOALS[method.name];
  if (s === undefined || goal === undefined) continue;
  const ess = stats(s.e2e);
  const floor = method.floorOf === undefined ? undefined : stats(samples.get(method.floorOf)?.e2e ?? []);
  const ratio = floor ? ` (${(ess.p50 / floor.p50).toFixed(2)}x / ${(ess.p99 / floor.p99).toFixed(2)}x)` : '';
  rows.push({
    figure: `${method.name}: p50 / p99 ms`,
    ess: `${ms(ess)}${ratio}`,
    reference: floor && method.floorOf ? `${method.floorOf}: ${ms(floor)}` : '',
    goal: goal.text,
    result: verdict(goal.met(ess, floor ?? ess)),
  });
  if (s.diff.length > 0) {
    const diff = stats(s.diff);
    rows.push({ figure: `${method.name}: recorded - measured, p50 / p99 ms`, ess: ms(diff), reference: '', goal: '<= 2 ms', result: verdict(diff.p99 <= 2) });
  }
  if (s.returned.length > 0) {
    const returned = stats(s.returned);
    rows.push({ figure: `${method.name}: returns after the last unit is down, p50 / p99 ms`, ess: ms(returned), reference: '', goal: '<= 30 ms', result: verdict(returned.p99 <= 30) });
  }
  if (s.cancelled.length > 0) {
    const failed = cycles - s.cancelled.length;
    rows.push({
      figure: 'trip -> orders cancelled at the venue (one on-trip action), p50 / p99 ms',
      ess: ms(stats(s.cancelled)),
      reference: `trip -> all units down: ${ms(ess)}`,
      goal: 'every cycle cancelled',
      result: verdict(failed === 0, failed === 0 ? '' : `${failed} of ${cycles} cycles without a cancel`),
    });
  }
}
report(`Trigger -> all ${TRADING.length} trading units inactive (systemd's own timestamps), ${cycles} interleaved cycles`, rows);
