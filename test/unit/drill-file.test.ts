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
    const text = JSON.stringify({ ...DRILL_EXAMPLE, last: { time: 1, mode: 'full', result: 'fail', checks: 9, failed: 1, triggers } });
    expect(parseDrillJson(text).last?.triggers).toEqual([
      { method: 'command', result: 'pass', latencySeconds: 0.034 },
      { method: 'touch', result: 'fail', latencySeconds: null },
      { method: 'trip-request', result: 'not-run', latencySeconds: null },
    ]);
  });

  it('reads null as "has not passed"', () => {
    const text = JSON.stringify({ ...DRILL_EXAMPLE, last_pass: { 'dry-run': null, full: 1795600000 } });
    expect(parseDrillJson(text).lastPass).toEqual({ 'dry-run': null, full: 1795600000 });
  });

  it('ignores members a later drill may add', () => {
    const later = { ...DRILL_EXAMPLE, next_release: 1, last: { ...DRILL_EXAMPLE.last, extra: 'x', triggers: [{ method: 'touch', result: 'pass', latency_seconds: 1, x: 1 }] } };
    expect(parseDrillJson(JSON.stringify(later)).last?.triggers).toEqual([{ method: 'touch', result: 'pass', latencySeconds: 1 }]);
  });

  const last = DRILL_EXAMPLE.last;
  const touch = { method: 'touch', result: 'pass', latency_seconds: 1 };
  it.each([
    ['{"schema":1,', /not valid JSON/],
    ['"pass"', /\(top level\): expected an object/],
    ['{"schema":2}', /schema: expected 1, got 2 \(exporter and proof_ess.sh from different releases\?\)/],
    ['{"last":null}', /schema: expected 1, got undefined/],
    ['{"schema":1}', /^last: missing$/],
    [{ last: [] }, /^last: \[\] is not an object$/],
    [{ last: { ...last, mode: 'partial' } }, /^last.mode: "partial" is not one of "dry-run", "full"$/],
    [{ last: { ...last, result: 'ok' } }, /^last.result: "ok" is not one of "pass", "fail"$/],
    [{ last: { ...last, time: undefined } }, /^last.time: missing$/],
    [{ last: { ...last, time: -5 } }, /^last.time: -5 is not a non-negative number$/],
    [{ last_pass: 'yesterday' }, /^last_pass: "yesterday" is not an object$/],
    [{ last: { ...last, triggers: {} } }, /^last.triggers: \{\} is not a list$/],
    [{ last: { ...last, triggers: [touch, touch, touch, touch, touch] } }, /^last.triggers: \[.*\.\.\. is not a list of at most 4 entries$/],
    [{ last: { ...last, triggers: [{ ...touch, method: 'webhook' }] } }, /^last.triggers\[0\].method: "webhook" is not one of/],
    [{ last: { ...last, triggers: [{ method: 'touch', result: 'pass' }] } }, /^last.triggers\[0\].latency_seconds: missing$/],
    [{ last_pass: { 'dry-run': '1795656000', full: null } }, /^last_pass.dry-run: "1795656000" is not a non-negative number or null$/],
  ])('refuses %j', (change, message) => {
    const text = typeof change === 'string' ? change : JSON.stringify({ ...DRILL_EXAMPLE, ...change });
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
