import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnprivilegedSide } from '../../src/unprivileged-side.js';
import { UNIT_RESULTS } from '../../src/readers/state-file.js';
import { UNIT_STATES } from '../../src/readers/unit-status.js';
import { VERDICT_WORDS } from '../../src/verdict/latch-verdict.js';
import {
  assertsText,
  latchAssertsText,
  createFakeHost,
  DRILL_EXAMPLE,
  exemptionRecord,
  exporterUnits,
  MONITOR,
  type FakeHost,
  sample,
  STATE_EXAMPLE,
  silentLog,
  TRADING,
} from './helpers.js';

const BUILD = { version: '9.9.9-test', nodejsVersion: 'v20.0.0' };
/** The names the contract lets leave the ess_ prefix: the standard process_* metrics. */
const STANDARD_NAMES: readonly string[] = (
  JSON.parse(readFileSync(new URL('../../contract/metrics.json', import.meta.url), 'utf8')) as { standard_names: { names: string[] } }
).standard_names.names;

describe('metrics', () => {
  let fakeHost: FakeHost;
  let exporter: UnprivilegedSide | undefined;
  /** The exporter's clock in ms; undefined: the real one. */
  let clock: number | undefined;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    clock = undefined;
  });
  afterEach(async () => {
    await exporter?.close();
    exporter = undefined;
    await fakeHost.cleanup();
  });

  let subscribed: UnprivilegedSide | undefined;
  /** Subscribes the exporter to the fake systemd once, then renders it once what systemd signalled is applied. */
  async function scrape(config?: Record<string, unknown>): Promise<string> {
    exporter ??= new UnprivilegedSide(await fakeHost.config(config), BUILD, silentLog, fakeHost.hostPaths, () => clock ?? Date.now());
    if (subscribed !== exporter) {
      subscribed = exporter;
      await exporter.unitStates.start();
    }
    await exporter.unitStates.settled();
    await exporter.refresh();
    return exporter.registry.metrics();
  }

  /** The words whose ess_verdict series is 1; exactly one on every scrape. */
  function verdict(text: string): string {
    const current = VERDICT_WORDS.filter((word) => {
      const value = sample(text, `ess_verdict{verdict="${word}"}`);
      expect(value, word).toBeDefined();
      return value === 1;
    });
    expect(current).toHaveLength(1);
    return current[0] ?? '';
  }

  const latch = async (): Promise<void> => {
    await writeFile(fakeHost.flagFile, '');
    await writeFile(join(fakeHost.stateDir, 'latched'), '');
  };

  it('exposes one series per state for every configured unit, with its role', async () => {
    fakeHost.setUnits(
      exporterUnits([
        { name: TRADING[0], load: 'not-found', active: 'inactive' },
        { name: TRADING[1], load: 'masked', active: 'inactive' },
        { name: MONITOR[0], active: 'active' },
        { name: MONITOR[1], active: 'failed' },
      ]),
    );
    const text = await scrape();
    const current = (unit: string, role: string): string[] =>
      UNIT_STATES.filter((state) => {
        const value = sample(text, `ess_unit_state{unit="${unit}",role="${role}",state="${state}"}`);
        expect(value, `${unit} ${state}`).toBeDefined();
        return value === 1;
      });
    expect(current(TRADING[0], 'trading')).toEqual(['not-found']);
    expect(current(TRADING[1], 'trading')).toEqual(['masked']);
    expect(current(MONITOR[0], 'monitor')).toEqual(['active']);
    expect(current(MONITOR[1], 'monitor')).toEqual(['failed']);
    expect(current('quantum-ess.path', 'switch')).toEqual(['active']);
    expect(current('quantum-ess-trigger.service', 'switch')).toEqual(['inactive']);
  });

  it('renders the state file: latency, timestamps, per-unit results and the controller totals', async () => {
    await writeFile(fakeHost.stateFile, JSON.stringify(STATE_EXAMPLE));
    const text = await scrape();
    expect(sample(text, 'ess_last_activation_latency_seconds')).toBe(0.018969);
    expect(sample(text, 'ess_last_activation_timestamp_seconds')).toBe(1795543337.41);
    expect(sample(text, 'ess_last_activation_all_stopped')).toBe(1);
    expect(sample(text, 'ess_last_deactivation_timestamp_seconds')).toBe(1795543333.18);
    expect(sample(text, 'ess_last_tamper_timestamp_seconds')).toBe(1795543300.5);
    expect(text).toContain('# TYPE ess_activations_total counter');
    expect(sample(text, 'ess_activations_total{source="cli"}')).toBe(4);
    expect(sample(text, 'ess_activations_total{source="path"}')).toBe(4);
    expect(text).toContain('# TYPE ess_tamper_events_total counter');
    expect(sample(text, 'ess_tamper_events_total')).toBe(1);
    expect(sample(text, 'ess_leftover_kills_total')).toBe(2);
    for (const result of UNIT_RESULTS) {
      expect(sample(text, `ess_last_activation_unit_result{unit="${TRADING[0]}",result="${result}"}`), result).toBe(result === 'stopped' ? 1 : 0);
      expect(sample(text, `ess_last_activation_unit_result{unit="${TRADING[1]}",result="${result}"}`), result).toBe(
        result === 'leftovers-killed' ? 1 : 0,
      );
    }
    expect(sample(text, 'ess_build_info{version="9.9.9-test",nodejs_version="v20.0.0"}')).toBe(1);
  });

  it('leaves out what never happened instead of reporting 0 (1970, 0 s); totals of a host that never activated are 0', async () => {
    const text = await scrape();
    for (const name of [
      'ess_last_activation_latency_seconds',
      'ess_last_activation_timestamp_seconds',
      'ess_last_activation_all_stopped',
      'ess_last_deactivation_timestamp_seconds',
      'ess_last_tamper_timestamp_seconds',
    ]) {
      expect(sample(text, name), name).toBeUndefined();
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
    expect(text).not.toMatch(/^ess_activations_total\{/m);
    expect(text).not.toMatch(/^ess_last_activation_unit_result\{/m);
    expect(sample(text, 'ess_tamper_events_total')).toBe(0);
    expect(sample(text, 'ess_leftover_kills_total')).toBe(0);
  });

  it('leaves the controller totals out while state.json was never read, so increase() sees no jump from 0', async () => {
    await mkdir(fakeHost.stateFile);
    const text = await scrape();
    expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(0);
    expect(sample(text, 'ess_tamper_events_total')).toBeUndefined();
    expect(sample(text, 'ess_leftover_kills_total')).toBeUndefined();
    expect(text).toContain('# TYPE ess_tamper_events_total counter');
  });

  it('reports a failed stop as all_stopped 0 with no latency', async () => {
    const failed = { ...STATE_EXAMPLE, last_activation: { ...STATE_EXAMPLE.last_activation, latency_seconds: null, all_stopped_time: null, result: 'failed' } };
    await writeFile(fakeHost.stateFile, JSON.stringify(failed));
    const text = await scrape();
    expect(sample(text, 'ess_last_activation_all_stopped')).toBe(0);
    expect(sample(text, 'ess_last_activation_latency_seconds')).toBeUndefined();
  });

  it('judges the latch as the contract says: armed, active, tampered, not-persisted, resume-interrupted', async () => {
    let text = await scrape();
    expect(verdict(text)).toBe('armed');
    expect(sample(text, 'ess_active')).toBe(0);
    expect(sample(text, 'ess_switch_armed')).toBe(1);
    expect(sample(text, 'ess_latch_violation')).toBe(0);

    await latch();
    text = await scrape();
    expect(verdict(text)).toBe('active');
    expect(sample(text, 'ess_active')).toBe(1);

    await rm(fakeHost.flagFile);
    text = await scrape();
    expect(verdict(text)).toBe('tampered');
    expect(sample(text, 'ess_active')).toBe(1);

    await writeFile(fakeHost.flagFile, '');
    await fakeHost.setMarker('persist-failed', 'audit: No space left on device\n');
    expect(verdict(await scrape())).toBe('not-persisted');

    await rm(fakeHost.flagFile);
    await rm(join(fakeHost.stateDir, 'latched'));
    await fakeHost.setMarker('persist-failed', null);
    await fakeHost.setMarker('resume-pending', `${TRADING[1]}\n`);
    text = await scrape();
    expect(verdict(text)).toBe('resume-interrupted');
    expect(sample(text, 'ess_active')).toBe(0);
  });

  it('counts trading units running, holding processes or unguarded while latched; monitor units never count', async () => {
    fakeHost.setUnits(
      exporterUnits([
        { name: TRADING[0], active: 'active' },
        { name: TRADING[1], active: 'inactive' },
        { name: MONITOR[0], active: 'active' },
        { name: MONITOR[1], active: 'active' },
      ]),
    );
    await fakeHost.setPopulated(TRADING[0], true);
    expect(sample(await scrape(), 'ess_latch_violation')).toBe(0);

    await latch();
    let text = await scrape();
    expect(verdict(text)).toBe('violation');
    expect(sample(text, 'ess_latch_violation')).toBe(1);
    expect(sample(text, `ess_unit_cgroup_populated{unit="${TRADING[0]}"}`)).toBe(1);
    expect(sample(text, `ess_unit_cgroup_populated{unit="${TRADING[1]}"}`)).toBe(0);

    // inactive, but processes stayed in its cgroup (KillMode=process): still a violation
    fakeHost.setUnits(
      exporterUnits([
        { name: TRADING[0], active: 'inactive', cgroup: `/system.slice/${TRADING[0]}` },
        { name: TRADING[1], active: 'failed' },
        ...MONITOR.map((name) => ({ name, active: 'active' })),
      ]),
    );
    fakeHost.setAsserts(TRADING[1], assertsText(fakeHost.flagFile));
    text = await scrape();
    expect(sample(text, 'ess_latch_violation')).toBe(2);
    expect(sample(text, `ess_unit_guarded{unit="${TRADING[1]}"}`)).toBe(0);
    expect(sample(text, 'ess_switch_armed')).toBe(0);

    await fakeHost.setPopulated(TRADING[0], false);
    fakeHost.setAsserts(TRADING[1], latchAssertsText(fakeHost.flagFile, fakeHost.stateDir, fakeHost.spoolDir));
    text = await scrape();
    expect(verdict(text)).toBe('active');
    expect(sample(text, 'ess_latch_violation')).toBe(0);
  });

  it('shows a guard it cannot read as absent and the verdict unknown; a unit that is not installed cannot start (guarded) but disarms the switch', async () => {
    fakeHost.setUnits(
      exporterUnits([
        { name: TRADING[0], active: 'inactive' },
        { name: TRADING[1], load: 'not-found', active: 'inactive' },
        ...MONITOR.map((name) => ({ name, active: 'active' })),
      ]),
    );
    fakeHost.setAsserts(TRADING[0], null);
    fakeHost.setAsserts(TRADING[1], null);
    const text = await scrape();
    expect(verdict(text)).toBe('unknown');
    expect(sample(text, `ess_unit_guarded{unit="${TRADING[0]}"}`)).toBeUndefined();
    expect(sample(text, `ess_unit_guarded{unit="${TRADING[1]}"}`)).toBe(1);
    expect(sample(text, 'ess_exporter_read_ok{source="asserts"}')).toBe(0);
    // no trigger stops what a name systemd does not have means (a typo of a unit that trades)
    expect(sample(text, 'ess_switch_armed')).toBe(0);
  });

  it("judges the slice of a trading unit's User= as the unit's own processes while latched, following a daemon-reload", async () => {
    const slice = join(fakeHost.hostPaths.cgroupRoot, 'user.slice', 'user-4321.slice');
    await mkdir(slice, { recursive: true });
    await writeFile(join(slice, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    await latch();
    // run as root: its slice is never judged (a root helper cannot be told from any other root process)
    expect(verdict(await scrape())).toBe('active');

    // a drop-in gives it a dedicated user, by a daemon-reload: its helpers in that user's slice are a violation
    fakeHost.setUnits(exporterUnits([{ name: TRADING[1], active: 'inactive', user: '4321' }]));
    fakeHost.systemd.daemonReload();
    let text = await scrape();
    expect(verdict(text)).toBe('violation');
    expect(sample(text, 'ess_latch_violation')).toBe(1);

    await writeFile(join(slice, 'cgroup.events'), 'populated 0\nfrozen 0\n');
    text = await scrape();
    expect(verdict(text)).toBe('active');
    expect(sample(text, 'ess_latch_violation')).toBe(0);
  });

  it('serves last known unit states from a hung systemd, sets read_ok 0, counts the error and says unknown', async () => {
    const first = await scrape({ dbus_timeout_seconds: 0.2 });
    expect(sample(first, 'ess_exporter_read_ok{source="systemd"}')).toBe(1);
    fakeHost.setSystemdBehaviour('hang');
    const started = Date.now();
    const text = await scrape();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sample(text, `ess_unit_state{unit="${MONITOR[0]}",role="monitor",state="active"}`)).toBe(1);
    expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_errors_total{source="systemd"}')).toBe(1);
    expect(sample(text, 'ess_exporter_read_errors_total{source="flag"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(1);
    expect(verdict(text)).toBe('unknown');
  });

  it('knows nothing about units or violations before systemd ever answered, but a flag is a latch', async () => {
    fakeHost.setSystemdBehaviour('fail');
    await writeFile(fakeHost.flagFile, '');
    const text = await scrape();
    expect(sample(text, `ess_unit_state{unit="${TRADING[0]}",role="trading",state="inactive"}`)).toBe(0);
    expect(sample(text, 'ess_latch_violation')).toBeUndefined();
    expect(sample(text, 'ess_switch_armed')).toBeUndefined();
    expect(sample(text, `ess_unit_guarded{unit="${TRADING[0]}"}`)).toBeUndefined();
    expect(sample(text, 'ess_active')).toBe(1);
    expect(verdict(text)).toBe('unknown');
    expect(sample(text, 'ess_exporter_read_ok{source="cgroup"}')).toBe(0);
  });

  it('keeps the last good state file when it turns corrupt and counts the error', async () => {
    await writeFile(fakeHost.stateFile, JSON.stringify(STATE_EXAMPLE));
    await scrape();
    await writeFile(fakeHost.stateFile, '{not json');
    const text = await scrape();
    expect(sample(text, 'ess_activations_total{source="cli"}')).toBe(4);
    expect(sample(text, 'ess_tamper_events_total')).toBe(1);
    expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_errors_total{source="state"}')).toBe(1);
  });

  it('disarms when a path unit is down or the trigger is stuck active without a flag', async () => {
    const units = [...TRADING, ...MONITOR].map((name) => ({ name, active: name.startsWith('quantum') ? 'inactive' : 'active' }));
    fakeHost.setUnits(exporterUnits(units));
    expect(sample(await scrape(), 'ess_switch_armed')).toBe(1);

    fakeHost.setUnits(exporterUnits([...units, { name: 'quantum-ess.path', active: 'failed' }]));
    let text = await scrape();
    expect(sample(text, 'ess_switch_armed')).toBe(0);
    expect(verdict(text)).toBe('not-armed');
    expect(sample(text, 'ess_unit_state{unit="quantum-ess.path",role="switch",state="failed"}')).toBe(1);

    fakeHost.setUnits(exporterUnits([...units, { name: 'quantum-ess-trigger.service', active: 'active', sub: 'exited' }]));
    text = await scrape();
    expect(sample(text, 'ess_switch_armed')).toBe(0);
    await latch();
    expect(sample(await scrape(), 'ess_switch_armed')).toBe(1);
  });

  it('disarms when a switch unit is loaded otherwise than installed, read again after the daemon-reload', async () => {
    expect(verdict(await scrape())).toBe('armed');
    fakeHost.setWiring('quantum-ess.path', { DropInPaths: ['/run/systemd/system/quantum-ess.path.d/50-foreign.conf'] });
    let text = await scrape();
    expect(verdict(text)).toBe('not-armed');
    expect(sample(text, 'ess_switch_armed')).toBe(0);
    fakeHost.setWiring('quantum-ess-trigger.service', { ExecStart: [['/bin/true', ['/bin/true']]] });
    fakeHost.setWiring('quantum-ess.path', { DropInPaths: [] });
    text = await scrape();
    expect(verdict(text)).toBe('not-armed');
    fakeHost.setWiring('quantum-ess-trigger.service', {});
    expect(verdict(await scrape())).toBe('armed');
  });

  it('disarms when a service of the switch gains a dependency (a unit that can fail its start), not when systemd lists the same ones in another order', async () => {
    fakeHost.setWiring('quantum-ess.service', { Requires: ['sysinit.target', 'foreign.service', 'system.slice'] });
    let text = await scrape();
    expect(verdict(text)).toBe('not-armed');
    expect(sample(text, 'ess_switch_armed')).toBe(0);
    fakeHost.setWiring('quantum-ess.service', { Requires: ['sysinit.target', 'system.slice'], After: ['system.slice', 'basic.target', 'systemd-journald.socket', 'sysinit.target'] });
    text = await scrape();
    expect(verdict(text)).toBe('armed');
    // another unit's Conflicts=: starting this one waits for that one's stop
    fakeHost.setWiring('quantum-ess.service', { ConflictedBy: ['foreign.service'] });
    expect(verdict(await scrape())).toBe('not-armed');
    // a timer or path unit ordered before it (the ESS's own, enabled or not) cannot hold its start
    fakeHost.setWiring('quantum-ess.service', { ConflictedBy: [], After: ['sysinit.target', 'other.timer', 'basic.target', 'system.slice', 'systemd-journald.socket'] });
    expect(verdict(await scrape())).toBe('armed');
    fakeHost.setWiring('quantum-ess.service', {});
  });

  it('shows the units an activation stopped as stopped, not their states from before it as violations', async () => {
    const running = [...TRADING, ...MONITOR].map((name) => ({ name, active: 'active' }));
    fakeHost.setUnits(exporterUnits(running));
    expect(sample(await scrape(), 'ess_latch_violation')).toBe(0);
    await latch();
    fakeHost.setUnits(
      exporterUnits(running.map((u) => (u.name.startsWith('quantum') ? { ...u, active: 'inactive' } : u))),
    );
    const text = await scrape();
    expect(sample(text, 'ess_active')).toBe(1);
    expect(sample(text, 'ess_latch_violation')).toBe(0);
    expect(verdict(text)).toBe('active');
  });

  describe('maintenance exemptions', () => {
    const NOW = 1795656000;
    const UNTIL = 1795659600;
    /** TRADING[1] as it runs under an exemption: up, with processes, its latch assertions reset by the exemption drop-in. */
    async function runExempted(): Promise<void> {
      fakeHost.setUnits(
        exporterUnits([
          { name: TRADING[0], active: 'inactive' },
          { name: TRADING[1], active: 'active' },
          ...MONITOR.map((name) => ({ name, active: 'active' })),
        ]),
      );
      await fakeHost.setPopulated(TRADING[1], true);
      fakeHost.setAsserts(TRADING[1], 'a(sbbsi) 0');
    }

    it('lets an exempt unit run while latched (active, armed) until its until, then judges it again', async () => {
      clock = NOW * 1000;
      await latch();
      await runExempted();
      await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], UNTIL, NOW));
      let text = await scrape();
      expect(verdict(text)).toBe('active');
      expect(sample(text, 'ess_latch_violation')).toBe(0);
      expect(sample(text, 'ess_switch_armed')).toBe(1);
      expect(sample(text, `ess_unit_guarded{unit="${TRADING[1]}"}`)).toBe(0);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[1]}"}`)).toBe(UNTIL);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[0]}"}`)).toBe(0);
      expect(sample(text, 'ess_exemptions_active')).toBe(1);
      expect(sample(text, 'ess_exporter_read_ok{source="markers"}')).toBe(1);

      // the file stays until the root side's timer removes it, but from `until` on it is no exemption
      clock = UNTIL * 1000;
      text = await scrape();
      expect(verdict(text)).toBe('violation');
      expect(sample(text, 'ess_latch_violation')).toBe(1);
      expect(sample(text, 'ess_switch_armed')).toBe(0);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[1]}"}`)).toBe(0);
      expect(sample(text, 'ess_exemptions_active')).toBe(0);
    });

    it('judges the exemption at the time of the scrape, not of the read', async () => {
      clock = (UNTIL - 1) * 1000;
      await latch();
      await runExempted();
      await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], UNTIL, NOW));
      await scrape();
      clock = UNTIL * 1000;
      const text = await exporter?.registry.metrics() ?? '';
      expect(sample(text, 'ess_exemptions_active')).toBe(0);
      expect(verdict(text)).toBe('violation');
    });

    it('treats a malformed exemption file as no exemption and fails the markers source', async () => {
      clock = NOW * 1000;
      await latch();
      await runExempted();
      await fakeHost.setExemption(TRADING[1], { ...exemptionRecord(TRADING[1], UNTIL, NOW), unit: TRADING[0] });
      const text = await scrape();
      expect(verdict(text)).toBe('violation');
      expect(sample(text, 'ess_exemptions_active')).toBe(0);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[1]}"}`)).toBe(0);
      expect(sample(text, 'ess_exporter_read_ok{source="markers"}')).toBe(0);
      expect(sample(text, 'ess_exporter_read_errors_total{source="markers"}')).toBe(1);
    });

    it('counts the exemptions of several units, shows 0 for every trading unit without one, and nothing before the first read', async () => {
      clock = NOW * 1000;
      await fakeHost.setExemption(TRADING[0], exemptionRecord(TRADING[0], UNTIL + 60, NOW));
      await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], UNTIL, NOW));
      await fakeHost.setExemption(MONITOR[0], exemptionRecord(MONITOR[0], UNTIL, NOW));
      exporter = new UnprivilegedSide(await fakeHost.config(), BUILD, silentLog, fakeHost.hostPaths, () => clock ?? Date.now());
      const unread = await exporter.registry.metrics();
      expect(unread).toContain('# TYPE ess_unit_exempt_until_seconds gauge');
      expect(unread).not.toMatch(/^ess_unit_exempt_until_seconds\{/m);
      expect(sample(unread, 'ess_exemptions_active')).toBeUndefined();

      let text = await scrape();
      expect(sample(text, 'ess_exemptions_active')).toBe(2);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[0]}"}`)).toBe(UNTIL + 60);
      expect(sample(text, `ess_unit_exempt_until_seconds{unit="${TRADING[1]}"}`)).toBe(UNTIL);
      expect(text).not.toContain(`ess_unit_exempt_until_seconds{unit="${MONITOR[0]}"}`);
      expect(verdict(text)).toBe('armed');

      await fakeHost.setExemption(TRADING[0], null);
      await fakeHost.setExemption(TRADING[1], null);
      text = await scrape();
      expect(sample(text, 'ess_exemptions_active')).toBe(0);
      for (const unit of TRADING) expect(sample(text, `ess_unit_exempt_until_seconds{unit="${unit}"}`), unit).toBe(0);
    });
  });

  describe('drill record', () => {
    const drillFile = (): string => join(fakeHost.stateDir, 'drill.json');

    it('shows the last drill with its mode and result, and the last pass of each mode', async () => {
      await writeFile(drillFile(), JSON.stringify(DRILL_EXAMPLE));
      let text = await scrape();
      expect(sample(text, 'ess_last_drill_timestamp_seconds{mode="dry-run"}')).toBe(1795656000.5);
      expect(sample(text, 'ess_last_drill_success{mode="dry-run"}')).toBe(1);
      expect(sample(text, 'ess_last_drill_pass_timestamp_seconds{mode="dry-run"}')).toBe(1795656000.5);
      expect(sample(text, 'ess_last_drill_pass_timestamp_seconds{mode="full"}')).toBeUndefined();
      expect(sample(text, 'ess_exporter_read_ok{source="drill"}')).toBe(1);

      await writeFile(
        drillFile(),
        JSON.stringify({ schema: 1, last: { time: 1795700000, mode: 'full', result: 'fail', checks: 9, failed: 1 }, last_pass: { 'dry-run': 1795656000.5, full: 1795000000 } }),
      );
      text = await scrape();
      expect(sample(text, 'ess_last_drill_timestamp_seconds{mode="full"}')).toBe(1795700000);
      expect(sample(text, 'ess_last_drill_timestamp_seconds{mode="dry-run"}')).toBeUndefined();
      expect(sample(text, 'ess_last_drill_success{mode="full"}')).toBe(0);
      expect(sample(text, 'ess_last_drill_success{mode="dry-run"}')).toBeUndefined();
      expect(sample(text, 'ess_last_drill_pass_timestamp_seconds{mode="dry-run"}')).toBe(1795656000.5);
      expect(sample(text, 'ess_last_drill_pass_timestamp_seconds{mode="full"}')).toBe(1795000000);
    });

    it('leaves every drill series out on a host never drilled', async () => {
      const text = await scrape();
      for (const name of ['ess_last_drill_timestamp_seconds', 'ess_last_drill_success', 'ess_last_drill_pass_timestamp_seconds']) {
        expect(text).toContain(`# TYPE ${name} gauge`);
        expect(text).not.toMatch(new RegExp(`^${name}\\{`, 'm'));
      }
      expect(sample(text, 'ess_exporter_read_ok{source="drill"}')).toBe(1);
    });

    it('keeps the last good record when drill.json turns corrupt and counts a drill read error', async () => {
      await writeFile(drillFile(), JSON.stringify(DRILL_EXAMPLE));
      await scrape();
      await writeFile(drillFile(), '{"schema":1,"last":{"time":');
      const text = await scrape();
      expect(sample(text, 'ess_last_drill_success{mode="dry-run"}')).toBe(1);
      expect(sample(text, 'ess_exporter_read_ok{source="drill"}')).toBe(0);
      expect(sample(text, 'ess_exporter_read_errors_total{source="drill"}')).toBe(1);
      expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(1);
      expect(verdict(text)).toBe('armed');
    });
  });

  it('gives every instance its own registry', async () => {
    const config = await fakeHost.config();
    const a = new UnprivilegedSide(config, BUILD, silentLog, fakeHost.hostPaths);
    const b = new UnprivilegedSide(config, BUILD, silentLog, fakeHost.hostPaths);
    expect(a.registry).not.toBe(b.registry);
    await a.refresh();
    await b.refresh();
    await a.close();
    await b.close();
  });

  it('follows Prometheus naming: ess_ prefix (or a standard process_ name), _total only on counters, HELP and TYPE on every family', async () => {
    await writeFile(fakeHost.stateFile, JSON.stringify(STATE_EXAMPLE));
    const text = await scrape();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name = '', type = '']) => ({ name, type }));
    expect(types.length).toBeGreaterThan(10);
    for (const { name, type } of types) {
      if (!STANDARD_NAMES.includes(name)) expect(name).toMatch(/^ess_[a-z_]+$/);
      expect(name.endsWith('_total'), name).toBe(type === 'counter');
      expect(text).toContain(`# HELP ${name} `);
    }
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^(ess|process)_[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/);
    }
    // what every Prometheus exporter has
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds', 'process_start_time_seconds']) {
      expect(sample(text, name), name).toBeGreaterThan(0);
    }
  });
});
