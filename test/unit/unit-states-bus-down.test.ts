// The one source of unit states going away: the system bus stops (every connection to it ends). The
// states are then unknown (last known values served, verdict unknown, their age growing), a warning is
// logged once, and the exporter subscribes again, with its bounded backoff, when the bus is back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECONNECT_MAX_MS } from '../../src/readers/unit-states.js';
import { UnprivilegedSide } from '../../src/unprivileged-side.js';
import { createFakeHost, type FakeHost, MONITOR, sample } from './helpers.js';

const BUILD = { version: '9.9.9-test', nodejsVersion: 'v20.0.0' };

async function until(what: string, condition: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('unit states while the system bus is unavailable', () => {
  let fakeHost: FakeHost;
  let exporter: UnprivilegedSide;
  const logs: { message: string; level: string | undefined }[] = [];
  beforeEach(async () => {
    logs.length = 0;
    fakeHost = await createFakeHost();
    exporter = new UnprivilegedSide(await fakeHost.config({ dbus_timeout_seconds: 0.3 }), BUILD, (message, level) => logs.push({ message, level }), fakeHost.hostPaths);
    await exporter.start();
  });
  afterEach(async () => {
    await exporter.close();
    await fakeHost.cleanup();
  });

  const scrape = async (): Promise<string> => {
    await exporter.refresh();
    return exporter.registry.metrics();
  };

  it('says unknown with the last known states and a growing age, warns once, and subscribes again when the bus is back', async () => {
    let text = await scrape();
    expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(1);
    expect(sample(text, 'ess_verdict{verdict="armed"}')).toBe(1);

    await fakeHost.systemd.stopBus();
    await until('the exporter notices', () => !exporter.unitStates.subscribed(), 3000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    text = await scrape();
    expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(0);
    expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(0);
    expect(sample(text, 'ess_verdict{verdict="unknown"}')).toBe(1);
    expect(sample(text, 'ess_exporter_unit_states_age_seconds')).toBeGreaterThan(1);
    expect(sample(text, `ess_unit_state{unit="${MONITOR[0]}",role="monitor",state="active"}`)).toBe(1);
    const age = sample(text, 'ess_exporter_unit_states_age_seconds') ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sample(await scrape(), 'ess_exporter_unit_states_age_seconds')).toBeGreaterThan(age);
    const warnings = logs.filter((line) => line.level === 'warning');
    expect(warnings.map((line) => line.message)).toEqual([expect.stringMatching(/^unit states: unknown while the system bus is unavailable/)]);

    // the retries (0.5 s, 1 s, 2 s, ... never more than 5 s apart) find it back
    await fakeHost.systemd.startBus();
    const back = await until('subscribed again', () => exporter.unitStates.subscribed(), RECONNECT_MAX_MS + 2000);
    console.log(`subscribed again ${back} ms after the bus came back`);
    await exporter.unitStates.settled();
    text = await scrape();
    expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(1);
    expect(sample(text, 'ess_exporter_read_ok{source="systemd"}')).toBe(1);
    expect(sample(text, 'ess_exporter_unit_states_age_seconds')).toBe(0);
    expect(sample(text, 'ess_verdict{verdict="armed"}')).toBe(1);
    expect(logs.filter((line) => line.level === 'warning')).toHaveLength(1);
  });

  it('follows the units again after it subscribed anew', async () => {
    await fakeHost.systemd.stopBus();
    await until('the exporter notices', () => !exporter.unitStates.subscribed(), 3000);
    fakeHost.setUnits([{ name: MONITOR[0], active: 'failed' }]);
    await fakeHost.systemd.startBus();
    await until('subscribed again', () => exporter.unitStates.subscribed(), RECONNECT_MAX_MS + 2000);
    expect(sample(await scrape(), `ess_unit_state{unit="${MONITOR[0]}",role="monitor",state="failed"}`)).toBe(1);
    fakeHost.setUnits([{ name: MONITOR[0], active: 'active' }]);
    await exporter.unitStates.settled();
    expect(sample(await scrape(), `ess_unit_state{unit="${MONITOR[0]}",role="monitor",state="active"}`)).toBe(1);
  });
});
