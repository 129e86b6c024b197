import { rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Exporter } from '../../src/exporter.js';
import { UNIT_STATES } from '../../src/readers/systemctl-show.js';
import { createSandbox, exporterShowOutput, MONITOR, type Sandbox, sample, STATE_EXAMPLE, silentLog, TRADING } from './helpers.js';

const BUILD = { version: '9.9.9-test', nodejsVersion: 'v20.0.0' };

describe('metrics', () => {
  let sandbox: Sandbox;
  let exporter: Exporter | undefined;
  beforeEach(async () => {
    sandbox = await createSandbox();
  });
  afterEach(async () => {
    await exporter?.close();
    exporter = undefined;
    await sandbox.cleanup();
  });

  async function scrape(config?: Record<string, unknown>): Promise<string> {
    exporter ??= new Exporter(await sandbox.config(config), BUILD, silentLog);
    await exporter.refresh();
    return exporter.registry.metrics();
  }

  it('exposes one series per state for every configured unit, with its role', async () => {
    await sandbox.setShowOutput(
      exporterShowOutput([
        { name: TRADING[0], load: 'not-found', active: 'inactive' },
        { name: TRADING[1], load: 'masked', active: 'inactive' },
        { name: MONITOR[0], active: 'active' },
        { name: MONITOR[1], active: 'failed' },
      ]),
    );
    const text = await scrape();
    const current = (unit: string): string[] =>
      UNIT_STATES.filter((state) => {
        const role = unit.startsWith('quantum') ? 'trading' : 'monitor';
        const value = sample(text, `ess_unit_state{unit="${unit}",role="${role}",state="${state}"}`);
        expect(value, `${unit} ${state}`).toBeDefined();
        return value === 1;
      });
    expect(current(TRADING[0])).toEqual(['not-found']);
    expect(current(TRADING[1])).toEqual(['masked']);
    expect(current(MONITOR[0])).toEqual(['active']);
    expect(current(MONITOR[1])).toEqual(['failed']);
  });

  it('renders the state file: latency, timestamps and per-source activation counters', async () => {
    await writeFile(sandbox.stateFile, JSON.stringify(STATE_EXAMPLE));
    const text = await scrape();
    expect(sample(text, 'ess_last_activation_latency_seconds')).toBe(0.018969);
    expect(sample(text, 'ess_last_activation_timestamp_seconds')).toBe(1795543337.41);
    expect(sample(text, 'ess_last_activation_all_stopped')).toBe(1);
    expect(sample(text, 'ess_last_deactivation_timestamp_seconds')).toBe(1795543333.18);
    expect(text).toContain('# TYPE ess_activations_total counter');
    expect(sample(text, 'ess_activations_total{source="cli"}')).toBe(4);
    expect(sample(text, 'ess_activations_total{source="path"}')).toBe(4);
    expect(sample(text, 'ess_build_info{version="9.9.9-test",nodejs_version="v20.0.0"}')).toBe(1);
  });

  it('leaves out what never happened instead of reporting 0 (1970, 0 s)', async () => {
    const text = await scrape();
    for (const name of [
      'ess_last_activation_latency_seconds',
      'ess_last_activation_timestamp_seconds',
      'ess_last_activation_all_stopped',
      'ess_last_deactivation_timestamp_seconds',
    ]) {
      expect(sample(text, name), name).toBeUndefined();
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
    expect(text).not.toMatch(/^ess_activations_total\{/m);
  });

  it('reports a failed stop as all_stopped 0 with no latency', async () => {
    const failed = { ...STATE_EXAMPLE, last_activation: { ...STATE_EXAMPLE.last_activation, latency_seconds: null, all_stopped_time: null, result: 'failed' } };
    await writeFile(sandbox.stateFile, JSON.stringify(failed));
    const text = await scrape();
    expect(sample(text, 'ess_last_activation_all_stopped')).toBe(0);
    expect(sample(text, 'ess_last_activation_latency_seconds')).toBeUndefined();
  });

  it('counts trading units running while latched as latch violations; monitor units never count', async () => {
    await sandbox.setShowOutput(
      exporterShowOutput([
        { name: TRADING[0], active: 'active' },
        { name: TRADING[1], active: 'deactivating' },
        { name: MONITOR[0], active: 'active' },
        { name: MONITOR[1], active: 'active' },
      ]),
    );
    expect(sample(await scrape(), 'ess_latch_violation')).toBe(0);
    expect(sample(await scrape(), 'ess_active')).toBe(0);
    await writeFile(sandbox.flagFile, '');
    const latched = await scrape();
    expect(sample(latched, 'ess_active')).toBe(1);
    expect(sample(latched, 'ess_latch_violation')).toBe(2);
    await sandbox.setShowOutput(exporterShowOutput([...TRADING, ...MONITOR].map((name) => ({ name, active: name.startsWith('quantum') ? 'failed' : 'active' }))));
    expect(sample(await scrape(), 'ess_latch_violation')).toBe(0);
    await rm(sandbox.flagFile);
    expect(sample(await scrape(), 'ess_active')).toBe(0);
  });

  it('serves last known unit states from a hung systemctl, sets read_ok 0 and counts the error', async () => {
    const first = await scrape({ systemctl_timeout_seconds: 0.2 });
    expect(sample(first, 'ess_exporter_read_ok{source="systemd"}')).toBe(1);
    await sandbox.setSystemctlBehaviour('hang');
    const started = Date.now();
    const text = await scrape();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sample(text, `ess_unit_state{unit="${MONITOR[0]}",role="monitor",state="active"}`)).toBe(1);
    expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_errors_total{source="systemd"}')).toBe(1);
    expect(sample(text, 'ess_exporter_read_errors_total{source="flag"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(1);
  });

  it('knows nothing about units or violations before systemctl ever answered', async () => {
    await sandbox.setSystemctlBehaviour('fail');
    await writeFile(sandbox.flagFile, '');
    const text = await scrape();
    expect(sample(text, `ess_unit_state{unit="${TRADING[0]}",role="trading",state="inactive"}`)).toBe(0);
    expect(sample(text, 'ess_latch_violation')).toBeUndefined();
    expect(sample(text, 'ess_active')).toBe(1);
  });

  it('keeps the last good state file when it turns corrupt and counts the error', async () => {
    await writeFile(sandbox.stateFile, JSON.stringify(STATE_EXAMPLE));
    await scrape();
    await writeFile(sandbox.stateFile, '{not json');
    const text = await scrape();
    expect(sample(text, 'ess_activations_total{source="cli"}')).toBe(4);
    expect(sample(text, 'ess_exporter_read_ok{source="state"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_errors_total{source="state"}')).toBe(1);
  });

  it('reports the switch armed only while both ESS path units are active', async () => {
    const units = [...TRADING, ...MONITOR].map((name) => ({ name, active: 'active' }));
    await sandbox.setShowOutput(exporterShowOutput(units));
    expect(sample(await scrape({ unit_state_cache_seconds: 0 }), 'ess_switch_armed')).toBe(1);
    await sandbox.setShowOutput(exporterShowOutput([...units, { name: 'quantum-ess.path', active: 'failed' }]));
    const text = await scrape();
    expect(sample(text, 'ess_switch_armed')).toBe(0);
    expect(sample(text, 'ess_unit_state{unit="quantum-ess.path",role="switch",state="failed"}')).toBe(1);
  });

  it('re-reads unit states when the latch changes instead of serving cached ones as violations', async () => {
    const running = [...TRADING, ...MONITOR].map((name) => ({ name, active: 'active' }));
    await sandbox.setShowOutput(exporterShowOutput(running));
    expect(sample(await scrape({ unit_state_cache_seconds: 60 }), 'ess_latch_violation')).toBe(0);
    await writeFile(sandbox.flagFile, '');
    await sandbox.setShowOutput(
      exporterShowOutput(running.map((u) => (u.name.startsWith('quantum') ? { ...u, active: 'inactive' } : u))),
    );
    const text = await scrape();
    expect(sample(text, 'ess_active')).toBe(1);
    expect(sample(text, 'ess_latch_violation')).toBe(0);
    expect(await sandbox.systemctlCalls()).toBe(2);
  });

  it('gives every instance its own registry', async () => {
    const config = await sandbox.config();
    const a = new Exporter(config, BUILD, silentLog);
    const b = new Exporter(config, BUILD, silentLog);
    expect(a.registry).not.toBe(b.registry);
    await a.refresh();
    await b.refresh();
    await a.close();
    await b.close();
  });

  it('follows Prometheus naming: ess_ prefix, _total only on counters, HELP and TYPE on every family', async () => {
    await writeFile(sandbox.stateFile, JSON.stringify(STATE_EXAMPLE));
    const text = await scrape();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name = '', type = '']) => ({ name, type }));
    expect(types.length).toBeGreaterThan(10);
    for (const { name, type } of types) {
      expect(name).toMatch(/^ess_[a-z_]+$/);
      expect(name.endsWith('_total'), name).toBe(type === 'counter');
      expect(text).toContain(`# HELP ${name} `);
    }
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^ess_[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/);
    }
  });
});
