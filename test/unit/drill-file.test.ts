import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DrillRecord, drillFileReader, NEVER_DRILLED, parseDrillJson } from '../../src/readers/drill-file.js';
import type { JsonFileReader } from '../../src/readers/json-file.js';
import { ReadHealth } from '../../src/readers/read-health.js';
import { createFakeHost, DRILL_EXAMPLE, type FakeHost, silentLog } from './helpers.js';

describe('parseDrillJson', () => {
  it('takes the last drill and the last pass per mode from the contract example', () => {
    expect(parseDrillJson(JSON.stringify(DRILL_EXAMPLE))).toEqual({
      last: { time: 1795656000.5, mode: 'dry-run', result: 'pass', triggers: [] },
      lastPass: { 'dry-run': 1795656000.5, full: null },
    });
  });

  it('reads a failed full drill after a passed one', () => {
    const text = '{"schema":1,"last":{"time":1795700000,"mode":"full","result":"fail","checks":9,"failed":2},"last_pass":{"dry-run":1795656000.5,"full":1795600000}}';
    expect(parseDrillJson(text)).toEqual({
      last: { time: 1795700000, mode: 'full', result: 'fail', triggers: [] },
      lastPass: { 'dry-run': 1795656000.5, full: 1795600000 },
    });
  });

  it("reads a full drill's figure per trigger method", () => {
    const triggers = [
      { method: 'command', result: 'pass', latency_seconds: 0.034 },
      { method: 'touch', result: 'fail', latency_seconds: null },
      { method: 'trip-request', result: 'not-run', latency_seconds: null },
    ];
    const text = JSON.stringify({ schema: 1, last: { time: 1, mode: 'full', result: 'fail', checks: 9, failed: 1, triggers }, last_pass: null });
    expect(parseDrillJson(text).last?.triggers).toEqual([
      { method: 'command', result: 'pass', latencySeconds: 0.034 },
      { method: 'touch', result: 'fail', latencySeconds: null },
      { method: 'trip-request', result: 'not-run', latencySeconds: null },
    ]);
  });

  it('accepts a partial file: nulls and missing entries mean "not happened"', () => {
    expect(parseDrillJson('{"schema":1}')).toEqual(NEVER_DRILLED);
    expect(parseDrillJson('{"schema":1,"last":null,"last_pass":null}')).toEqual(NEVER_DRILLED);
    expect(parseDrillJson('{"schema":1,"last":null,"last_pass":{"full":1795600000}}')).toEqual({ last: null, lastPass: { 'dry-run': null, full: 1795600000 } });
  });

  it.each([
    ['{"schema":1,', /not valid JSON/],
    ['"pass"', /\(top level\): expected an object/],
    ['{"schema":2}', /schema: expected 1, got 2 \(exporter and proof_ess.sh from different releases\?\)/],
    ['{"last":null}', /schema: expected 1, got undefined/],
    ['{"schema":1,"last":[]}', /last: expected an object/],
    ['{"schema":1,"last":{"time":1,"mode":"partial","result":"pass"}}', /last.mode: "partial" is not one of dry-run, full/],
    ['{"schema":1,"last":{"time":1,"mode":"full","result":"ok"}}', /last.result: "ok" is not one of pass, fail/],
    ['{"schema":1,"last":{"mode":"full","result":"pass"}}', /last.time: undefined is not a non-negative number/],
    ['{"schema":1,"last":{"time":-5,"mode":"full","result":"pass"}}', /last.time: -5 is not/],
    ['{"schema":1,"last_pass":"yesterday"}', /last_pass: expected an object/],
    ['{"schema":1,"last":{"time":1,"mode":"full","result":"pass","triggers":{}}}', /last.triggers: expected an array of at most 4/],
    ['{"schema":1,"last":{"time":1,"mode":"full","result":"pass","triggers":[{"method":"webhook","result":"pass","latency_seconds":1}]}}', /last.triggers\[0\].method: "webhook" is not one of/],
    ['{"schema":1,"last":{"time":1,"mode":"full","result":"pass","triggers":[{"method":"touch","result":"pass"}]}}', /last.triggers\[0\].latency_seconds: missing/],
    ['{"schema":1,"last":{"time":1,"mode":"full","result":"pass","triggers":[{"method":"touch","result":"pass","latency_seconds":1,"x":1}]}}', /unknown member x/],
    ['{"schema":1,"last_pass":{"dry-run":"1795656000"}}', /last_pass.dry-run: "1795656000" is not/],
  ])('refuses %s', (text, message) => {
    expect(() => parseDrillJson(text)).toThrow(message);
  });
});

describe('drillFileReader', () => {
  let fakeHost: FakeHost;
  let health: ReadHealth;
  let reader: JsonFileReader<DrillRecord>;
  let drillFile: string;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    health = new ReadHealth(silentLog);
    reader = drillFileReader(fakeHost.stateDir, health);
    drillFile = join(fakeHost.stateDir, 'drill.json');
  });
  afterEach(() => fakeHost.cleanup());

  it('treats a missing file as never drilled, without an error', async () => {
    expect(await reader.read()).toEqual(NEVER_DRILLED);
    expect(health.get('drill')).toMatchObject({ ok: true, errors: 0 });
  });

  it('keeps the last good record and fails the drill source (only) when the file turns corrupt', async () => {
    await writeFile(drillFile, JSON.stringify(DRILL_EXAMPLE));
    const good = await reader.read();
    expect(good?.last?.result).toBe('pass');

    await writeFile(drillFile, '{"schema":1,"la');
    expect(await reader.read()).toBe(good);
    expect(health.get('drill')).toMatchObject({ ok: false, errors: 1 });
    expect(health.get('drill').lastError).toMatch(/cannot use .*drill.json: not valid JSON/);
    expect(health.get('state').errors).toBe(0);

    await writeFile(drillFile, JSON.stringify({ ...DRILL_EXAMPLE, last: { ...DRILL_EXAMPLE.last, result: 'fail' } }));
    expect((await reader.read())?.last?.result).toBe('fail');
    expect(health.get('drill')).toMatchObject({ ok: true, errors: 1, lastError: null });
  });

  it('refuses a file far larger than proof_ess.sh ever writes, and an unreadable path', async () => {
    await writeFile(drillFile, `{"schema":1,"pad":"${'x'.repeat(20_000)}"}`);
    expect(await reader.read()).toBeNull();
    expect(health.get('drill').lastError).toMatch(/larger than/);
    await writeFile(drillFile, '');
    await mkdir(join(fakeHost.dir, 'other'));
    await mkdir(join(fakeHost.dir, 'other', 'drill.json'));
    expect(await drillFileReader(join(fakeHost.dir, 'other'), health).read()).toBeNull();
    expect(health.get('drill')).toMatchObject({ ok: false, errors: 2 });
  });
});
