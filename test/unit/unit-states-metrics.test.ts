import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnprivilegedSide } from '../../src/unprivileged-side.js';
import { createFakeHost, exporterUnits, type FakeHost, MONITOR, sample, silentLog, TRADING } from './helpers.js';

const BUILD = { version: '9.9.9-test', nodejsVersion: 'v20.0.0' };
const series = (unit: string, state: string): string => `ess_unit_state_transitions_total{unit="${unit}",role="trading",state="${state}"}`;

describe('unit source metrics (the fake systemd on its private bus)', () => {
  let fakeHost: FakeHost;
  let exporter: UnprivilegedSide;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    exporter = new UnprivilegedSide(await fakeHost.config(), BUILD, silentLog, fakeHost.hostPaths);
    await exporter.start();
  });
  afterEach(async () => {
    await exporter.close();
    await fakeHost.cleanup();
  });

  const scrape = async (): Promise<string> => {
    await exporter.unitStates.settled();
    await exporter.refresh();
    return exporter.registry.metrics();
  };
  const states = (active: string) =>
    exporterUnits([...TRADING, ...MONITOR].map((name) => ({ name, active: name === TRADING[0] ? active : name.startsWith('quantum') ? 'inactive' : 'active' })));

  it('says where the states come from and counts each change by the state entered, from 0', async () => {
    let text = await scrape();
    expect(sample(text, 'ess_exporter_unit_source{source="dbus"}')).toBe(1);
    expect(text).not.toContain('source="poll"');
    expect(sample(text, 'ess_exporter_unit_states_age_seconds')).toBe(0);
    expect(sample(text, series(TRADING[0], 'active'))).toBe(0);
    for (let i = 0; i < 3; i += 1) {
      fakeHost.setUnits(states('active'));
      await scrape();
      fakeHost.setUnits(states('inactive'));
      text = await scrape();
    }
    expect(sample(text, series(TRADING[0], 'active'))).toBe(3);
    expect(sample(text, series(TRADING[0], 'inactive'))).toBe(3);
    expect(sample(text, series(TRADING[1], 'active'))).toBe(0);
    // scraping again adds nothing
    expect(sample(await scrape(), series(TRADING[0], 'active'))).toBe(3);
  });
});
