import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadHealth } from '../../src/readers/read-health.js';
import type { JsonFileReader } from '../../src/readers/json-file.js';
import { type EssState, NEVER_ACTIVATED, parseStateJson, stateFileReader } from '../../src/readers/state-file.js';
import { createFakeHost, type FakeHost, STATE_EXAMPLE, silentLog } from './helpers.js';

describe('parseStateJson', () => {
  it('takes the fields the metrics need from the controller example', () => {
    expect(parseStateJson(JSON.stringify(STATE_EXAMPLE))).toEqual({
      lastActivation: {
        triggerTime: 1795543337.41,
        latencySeconds: 0.018969,
        units: [
          { unit: 'quantum-ai-engine.service', result: 'stopped' },
          { unit: 'quantum-execution.service', result: 'leftovers-killed' },
        ],
        actions: [],
      },
      lastDeactivationTime: 1795543333.18,
      lastTamperTime: 1795543300.5,
      activationsTotal: { cli: 4, path: 4 },
      tamperTotal: 1,
      leftoverKillsTotal: 2,
    });
  });

  it('accepts a unit an activation left running under a maintenance exemption', () => {
    const reverified = { ...STATE_EXAMPLE, last_activation: { ...STATE_EXAMPLE.last_activation, units: [{ unit: 'quantum-execution.service', result: 'exempt', state: 'active', stop_seconds: null }] } };
    expect(parseStateJson(JSON.stringify(reverified)).lastActivation?.units).toEqual([{ unit: 'quantum-execution.service', result: 'exempt' }]);
  });

  it('reads nulls as "not happened"', () => {
    const fresh = { ...STATE_EXAMPLE, last_activation: null, last_deactivation: null, last_tamper: null, activations_total: {}, tamper_total: 0, leftover_kills_total: 0 };
    expect(parseStateJson(JSON.stringify(fresh))).toEqual(NEVER_ACTIVATED);
    const failedStop = { ...STATE_EXAMPLE, last_activation: { ...STATE_EXAMPLE.last_activation, latency_seconds: null, all_stopped_time: null, units: [] } };
    expect(parseStateJson(JSON.stringify(failedStop)).lastActivation).toEqual({ triggerTime: 1795543337.41, latencySeconds: null, units: [], actions: [] });
  });

  it("carries the on-trip actions' results of the activation, each as its result file holds it", () => {
    const run = {
      schema: 1, action: 'venue-a', activation: STATE_EXAMPLE.last_activation.id, mode: 'real', result: 'timeout', detail: 'killed after ACTION_TIMEOUT_SEC=5s',
      started: 1795543337.45, finished: 1795543342.46, duration_seconds: 5.01, output: ['http-cancel-all: DELETE ...'],
      counts: { verified: 2, unverified: 0, checked: 0, failed: 0, timeout: 1, refused: 0 },
    };
    const withActions = { ...STATE_EXAMPLE, last_activation: { ...STATE_EXAMPLE.last_activation, actions: [run] } };
    expect(parseStateJson(JSON.stringify(withActions)).lastActivation?.actions).toEqual([run]);
  });

  it('ignores members a later controller may add', () => {
    const later = { ...STATE_EXAMPLE, next_release: { x: 1 }, last_activation: { ...STATE_EXAMPLE.last_activation, extra: true } };
    expect(parseStateJson(JSON.stringify(later)).activationsTotal).toEqual({ cli: 4, path: 4 });
  });

  const activation = STATE_EXAMPLE.last_activation;
  const unit = activation.units[0];
  it.each([
    ['{"schema":2,', /not valid JSON/],
    ['[]', /expected an object/],
    ['{"schema":1}', /schema: expected 2, got 1 \(exporter and controller from different releases\?\)/],
    ['{"active":true}', /schema: expected 2, got undefined/],
    ['{"schema":2,"active":false}', /^flag_id: missing$/],
    [{ activations_total: { cli: -1 } }, /^activations_total.cli: -1 is not a count$/],
    [{ tamper_total: 1.5 }, /^tamper_total: 1.5 is not a count$/],
    [{ leftover_kills_total: '2' }, /^leftover_kills_total: "2" is not a count$/],
    [{ last_activation: { ...activation, latency_seconds: 'fast' } }, /^last_activation.latency_seconds: "fast" is not a non-negative number$/],
    [{ last_activation: { ...activation, units: {} } }, /^last_activation.units: \{\} is not a list$/],
    [{ last_activation: { ...activation, actions: [{ action: 'venue-a' }] } }, /^last_activation.actions\[0\].schema: missing$/],
    [{ last_activation: { ...activation, units: [{ ...unit, result: 'vanished' }] } }, /^last_activation.units\[0\].result: "vanished" is not one of "stopped", "killed"/],
    [{ last_activation: { ...activation, units: [{ ...unit, unit: undefined }] } }, /^last_activation.units\[0\].unit: missing$/],
    [{ last_activation: { ...activation, units: [{ ...unit, unit: 'a b' }] } }, /^last_activation.units\[0\].unit: "a b" is not a unit name$/],
    [{ last_deactivation: 'yesterday' }, /^last_deactivation: "yesterday" is not an object$/],
    [{ last_tamper: { time: -1, detail: '' } }, /^last_tamper.time: -1 is not a non-negative number$/],
  ])('refuses %j', (change, message) => {
    const text = typeof change === 'string' ? change : JSON.stringify({ ...STATE_EXAMPLE, ...change });
    expect(() => parseStateJson(text)).toThrow(message);
  });
});

describe('stateFileReader', () => {
  let fakeHost: FakeHost;
  let health: ReadHealth;
  let reader: JsonFileReader<EssState>;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    health = new ReadHealth(silentLog);
    reader = stateFileReader(join(fakeHost.dir, 'state'), health);
  });
  afterEach(() => fakeHost.cleanup());

  it('treats a missing file as never activated, without an error', async () => {
    expect(await reader.read()).toEqual(NEVER_ACTIVATED);
    expect(health.get('state')).toMatchObject({ ok: true, errors: 0 });
  });

  it('keeps the last good state and counts the error when the file turns corrupt', async () => {
    await writeFile(fakeHost.stateFile, JSON.stringify(STATE_EXAMPLE));
    const good = await reader.read();
    expect(good?.activationsTotal).toEqual({ cli: 4, path: 4 });

    await writeFile(fakeHost.stateFile, '{"schema":2,"last_activ');
    expect(await reader.read()).toBe(good);
    expect(await reader.read()).toBe(good);
    expect(health.get('state')).toMatchObject({ ok: false, errors: 2 });
    expect(health.get('state').lastError).toMatch(/cannot use .*state.json: not valid JSON/);

    await writeFile(fakeHost.stateFile, JSON.stringify({ ...STATE_EXAMPLE, activations_total: { cli: 5 } }));
    expect((await reader.read())?.activationsTotal).toEqual({ cli: 5 });
    expect(health.get('state')).toMatchObject({ ok: true, errors: 2, lastError: null });
  });

  it('refuses a file far larger than the controller ever writes', async () => {
    await writeFile(fakeHost.stateFile, `{"schema":2,"pad":"${'x'.repeat(70_000)}"}`);
    expect(await reader.read()).toBeNull();
    expect(health.get('state').lastError).toMatch(/larger than/);
  });

  it('counts an unreadable path (a directory) as an error', async () => {
    const dirReader = stateFileReader(fakeHost.dir, health);
    await writeFile(join(fakeHost.dir, 'placeholder'), '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(fakeHost.dir, 'state.json'));
    expect(await dirReader.read()).toBeNull();
    expect(health.get('state')).toMatchObject({ ok: false, errors: 1 });
  });
});
