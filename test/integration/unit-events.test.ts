// Unit states pushed by real systemd over D-Bus: every transition counted (checked against systemd's own
// journal record of the same jobs), freshness bounded, the Asserts the same entries as busctl prints, a
// daemon-reload followed, and the bus going away: the states unknown, said in metrics and a warning, no
// scrape hangs, and the subscription back when the bus is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsserts } from '../../sandbox/busctl-asserts.js';
import { metricValue, Sandbox, TRADING } from '../../sandbox/sandbox.js';

const METRICS = 'http://127.0.0.1:10170/metrics';
const UNIT = 'quantum-execution.service';
const CYCLES = 10;
let box: Sandbox;

beforeAll(async () => {
  box = await Sandbox.boot('ess-unit-events');
  await box.requireExporter();
});
afterAll(async () => {
  await box?.shutdown();
});

const scrape = (): Promise<string> => box.scrape();
const sample = metricValue;

const transitions = (text: string, unit: string, state: string): number =>
  sample(text, `ess_unit_state_transitions_total{unit="${unit}",role="trading",state="${state}"}`) ?? Number.NaN;

/** Jobs of one type systemd finished for the unit since boot, from its own journal records. */
async function journalJobs(unit: string, type: 'start' | 'stop'): Promise<number> {
  const out = await box.mustRun('journalctl', '--no-pager', '-b', '-o', 'json', `UNIT=${unit}`, `JOB_TYPE=${type}`, 'JOB_RESULT=done');
  return out.split('\n').filter((line) => line.trim() !== '').length;
}

describe('unit states over D-Bus on real systemd', () => {
  it('gets them from the D-Bus subscription', async () => {
    const text = await scrape();
    expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(1);
    expect(sample(text, 'ess_exporter_unit_states_age_seconds')).toBe(0);
    expect(sample(text, 'ess_switch_armed')).toBe(1);
    const journal = await box.mustRun('journalctl', '--no-pager', '-u', 'quantum-ess-exporter.service');
    expect(journal).toContain('subscribed to systemd over D-Bus');
  });

  it('counts every start and stop, as many as systemd records in its journal', async () => {
    const before = await scrape();
    const [startsBefore, stopsBefore] = [await journalJobs(UNIT, 'start'), await journalJobs(UNIT, 'stop')];
    for (let i = 0; i < CYCLES; i += 1) {
      await box.mustRun('systemctl', 'stop', UNIT);
      await box.mustRun('systemctl', 'reset-failed', UNIT);
      await box.mustRun('systemctl', 'start', UNIT);
    }
    await box.sh('sleep 0.2');
    const after = await scrape();
    // journald writes asynchronously: wait until it has recorded the jobs
    let started = 0;
    let stopped = 0;
    for (let i = 0; i < 50 && (started < CYCLES || stopped < CYCLES); i += 1) {
      if (i > 0) await box.sh('sleep 0.1');
      started = (await journalJobs(UNIT, 'start')) - startsBefore;
      stopped = (await journalJobs(UNIT, 'stop')) - stopsBefore;
    }
    console.log(`${CYCLES} cycles: journal ${started} starts, ${stopped} stops; exporter +${transitions(after, UNIT, 'active') - transitions(before, UNIT, 'active')} active, +${transitions(after, UNIT, 'inactive') - transitions(before, UNIT, 'inactive')} inactive`);
    expect(started).toBe(CYCLES);
    expect(stopped).toBe(CYCLES);
    expect(transitions(after, UNIT, 'active') - transitions(before, UNIT, 'active')).toBe(started);
    expect(transitions(after, UNIT, 'inactive') - transitions(before, UNIT, 'inactive')).toBe(stopped);
    // the other trading units did not move
    for (const unit of TRADING.filter((u) => u !== UNIT)) expect(transitions(after, unit, 'active')).toBe(transitions(before, unit, 'active'));
  });

  it('shows a change within 50 ms at p99 (systemd StateChangeTimestampMonotonic to the first scrape showing it)', async () => {
    const out = await box.mustRun('/usr/bin/node', '/opt/quantum-ess-src/bench/unit-freshness.mjs', '--unit', UNIT, '--cycles', '25');
    const result = JSON.parse(out) as { samples: number; missed: number; p50: number; p99: number; max: number };
    console.log(`freshness over ${result.samples} changes: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms`);
    expect(result.missed).toBe(0);
    expect(result.p99).toBeLessThanOrEqual(50);
  });

  it('reads the Asserts over D-Bus as the entries busctl prints, and follows a drop-in applied by daemon-reload', async () => {
    const dist = '/usr/local/lib/quantum-ess-exporter/dist/src/readers/unit-states-bus.js';
    const script = `
      const { SystemdBusWatch } = await import(${JSON.stringify(dist)});
      const asserts = new Map();
      const watch = new SystemdBusWatch(
        { address: 'unix:path=/run/dbus/system_bus_socket', units: ${JSON.stringify([...TRADING])}, assertsUnits: ${JSON.stringify([...TRADING])}, timeoutMs: 2000 },
        { status() {}, asserts: (unit, text) => asserts.set(unit, text), readFailed() {}, readSucceeded() {}, down() {} },
      );
      await watch.start();
      watch.close();
      process.stdout.write(JSON.stringify(Object.fromEntries(asserts)));`;
    const viaBus = JSON.parse(await box.mustRun('setpriv', '--reuid=quantum-ess', '--regid=quantum-ess', '--clear-groups', '/usr/bin/node', '--input-type=module', '-e', script)) as Record<string, unknown>;
    for (const unit of TRADING) {
      const path = `/org/freedesktop/systemd1/unit/${unit.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
      const busctl = (await box.mustRun('busctl', 'get-property', 'org.freedesktop.systemd1', path, 'org.freedesktop.systemd1.Unit', 'Asserts')).trim();
      expect(viaBus[unit]).toEqual(parseAsserts(busctl));
      expect(viaBus[unit]).toHaveLength(3);
    }
    // a drop-in that resets the assertions: the exporter sees the trading unit unguarded after the reload
    await box.sh(`mkdir -p /run/systemd/system/${UNIT}.d && printf '[Unit]\\nAssertPathExists=\\n' > /run/systemd/system/${UNIT}.d/99-test.conf && systemctl daemon-reload`);
    try {
      await box.sh('sleep 0.3');
      const text = await scrape();
      expect(sample(text, `ess_unit_guarded{unit="${UNIT}"}`)).toBe(0);
      expect(sample(text, 'ess_switch_armed')).toBe(0);
    } finally {
      await box.sh(`rm -rf /run/systemd/system/${UNIT}.d && systemctl daemon-reload`);
    }
    await box.sh('sleep 0.3');
    expect(sample(await scrape(), 'ess_switch_armed')).toBe(1);
  });

  it('says unknown while the bus is gone, with a warning, never hangs a scrape, and subscribes again when it is back', async () => {
    await box.mustRun('systemctl', 'stop', 'dbus.socket', 'dbus.service');
    try {
      // the lost connection shows at the next ping (every second, bounded by dbus_timeout_seconds)
      const gone = await box.sh(`for i in $(seq 100); do curl -fsS ${METRICS} | grep -qx 'ess_exporter_unit_source{source="dbus"} 0' && exit 0; sleep 0.1; done; exit 1`);
      expect(gone.exitCode).toBe(0);
      const r = await box.sh(`
        sleep 1
        for i in 1 2 3; do
          s=$(date +%s%N); curl -fsS --max-time 10 ${METRICS} > /tmp/m || exit 1; e=$(date +%s%N)
          echo $(( (e - s) / 1000000 ))
        done`);
      expect(r.exitCode).toBe(0);
      expect(Math.max(...r.stdout.trim().split('\n').map(Number))).toBeLessThan(3000);
      const text = await box.readFile('/tmp/m');
      expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(0);
      // the states are served as last known, and unknown
      expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
      expect(sample(text, 'ess_exporter_unit_states_age_seconds')).toBeGreaterThan(0);
      expect(sample(text, 'ess_verdict{verdict="unknown"}')).toBe(1);
      expect(text).toContain(`ess_unit_state{unit="${UNIT}",role="trading",state="active"} 1`);
      const warnings = await box.mustRun('journalctl', '--no-pager', '-p', 'warning', '-u', 'quantum-ess-exporter.service');
      expect(warnings).toContain('unit states: unknown while the system bus is unavailable');
    } finally {
      await box.mustRun('systemctl', 'start', 'dbus.socket', 'dbus.service');
    }
    // the retries (at most 5 s apart) get the subscription back
    const back = await box.sh(`for i in $(seq 100); do curl -fsS ${METRICS} | grep -qx 'ess_exporter_unit_source{source="dbus"} 1' && exit 0; sleep 0.1; done; exit 1`);
    expect(back.exitCode).toBe(0);
    await box.sh('sleep 0.3');
    const text = await scrape();
    expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(1);
    expect(sample(text, 'ess_switch_armed')).toBe(1);
    await box.mustRun('systemctl', 'stop', UNIT);
    await box.sh('sleep 0.2');
    expect(await scrape()).toContain(`ess_unit_state{unit="${UNIT}",role="trading",state="inactive"} 1`);
    await box.mustRun('systemctl', 'start', UNIT);
  });
});
