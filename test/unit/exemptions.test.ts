import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentExemptions, parseExemption, readExemptionFiles } from '../../src/readers/exemptions.js';
import { createFakeHost, exemptionRecord, type FakeHost, TRADING } from './helpers.js';

const UNIT = 'quantum-execution.service';
/** contract/README.md section 5, verbatim. */
const UNTIL = 1795659600;
const CONTRACT_EXAMPLE = '{"unit":"quantum-execution.service","since":1795656000,"until":1795659600,"actor":"root","reason":"deploy v2"}\n';

describe('parseExemption', () => {
  it('reads the contract example', () => {
    expect(parseExemption(CONTRACT_EXAMPLE, UNIT)).toEqual({
      unit: UNIT,
      since: 1795656000,
      until: 1795659600,
      actor: 'root',
      reason: 'deploy v2',
    });
  });

  it('ignores fields it does not use, as a later controller may add some', () => {
    expect(parseExemption(JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), timer: 'x.timer' }), UNIT).until).toBe(UNTIL);
  });

  it.each([
    ['', /not valid JSON/],
    ['{"unit":"quantum-execution.service","since":1', /not valid JSON/],
    ['null', /expected an object/],
    ['[]', /expected an object/],
    [JSON.stringify(exemptionRecord('quantum-governor.service', UNTIL)), /unit: "quantum-governor.service" is not "quantum-execution.service"/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), unit: undefined }), /^unit: missing$/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), until: String(UNTIL) }), /^until: "1795659600" is not a Unix time in whole seconds$/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), until: UNTIL + 0.5 }), /until: 1795659600.5 is not/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), until: null }), /until: null is not/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), since: -1 }), /since: -1 is not/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), actor: 0 }), /actor: 0 is not a string/],
    [JSON.stringify({ ...exemptionRecord(UNIT, UNTIL), reason: undefined }), /^reason: missing$/],
  ])('refuses %s', (text, message) => {
    expect(() => parseExemption(text, UNIT)).toThrow(message);
  });
});

describe('currentExemptions', () => {
  it('keeps only exemptions whose until lies in the future', () => {
    const all = new Map([
      ['a.service', exemptionRecord('a.service', UNTIL)],
      ['b.service', exemptionRecord('b.service', UNTIL + 60)],
    ]);
    expect([...currentExemptions(all, UNTIL - 0.1).keys()]).toEqual(['a.service', 'b.service']);
    expect([...currentExemptions(all, UNTIL).keys()]).toEqual(['b.service']);
    expect([...currentExemptions(all, UNTIL + 60).keys()]).toEqual([]);
  });
});

describe('readExemptionFiles', () => {
  let fakeHost: FakeHost;
  let runtimeDir: string;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
    runtimeDir = fakeHost.hostPaths.runtimeDir;
  });
  afterEach(() => fakeHost.cleanup());

  it('finds nothing, without an error, when the exempt directory does not exist', async () => {
    expect(await readExemptionFiles(runtimeDir, TRADING)).toEqual({ exemptions: new Map(), errors: [] });
  });

  it('reads the file of each trading unit, expired ones included, and nothing else in the directory', async () => {
    await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], 1795659600));
    await fakeHost.setExemption(TRADING[0], exemptionRecord(TRADING[0], 1795600000));
    await fakeHost.setExemption('redis-server.service', exemptionRecord('redis-server.service', 1795659600));
    const { exemptions, errors } = await readExemptionFiles(runtimeDir, TRADING);
    expect(errors).toEqual([]);
    expect([...exemptions.keys()]).toEqual([...TRADING]);
    expect(exemptions.get(TRADING[1])?.until).toBe(1795659600);
  });

  it('reports a malformed, oversized or unreadable file, naming it, and leaves that unit without an exemption', async () => {
    await fakeHost.setExemption(TRADING[0], '{"unit":');
    await fakeHost.setExemption(TRADING[1], exemptionRecord(TRADING[1], 1795659600));
    let result = await readExemptionFiles(runtimeDir, TRADING);
    expect([...result.exemptions.keys()]).toEqual([TRADING[1]]);
    expect(result.errors.map((error) => error.message)).toEqual([`cannot use ${join(runtimeDir, 'exempt', TRADING[0])}`]);

    await fakeHost.setExemption(TRADING[0], `${JSON.stringify({ ...exemptionRecord(TRADING[0], 1795659600), reason: 'x'.repeat(20_000) })}\n`);
    result = await readExemptionFiles(runtimeDir, TRADING);
    expect(result.exemptions.has(TRADING[0])).toBe(false);
    expect(String((result.errors[0]?.cause as Error | undefined)?.message)).toMatch(/larger than/);

    await fakeHost.setExemption(TRADING[0], null);
    await mkdir(join(runtimeDir, 'exempt', TRADING[0]));
    result = await readExemptionFiles(runtimeDir, TRADING);
    expect(result.exemptions.has(TRADING[0])).toBe(false);
    expect((result.errors[0]?.cause as NodeJS.ErrnoException | undefined)?.code).toBe('EISDIR');
  });

  it('reports an exempt path that is not a directory for every unit', async () => {
    await writeFile(join(runtimeDir, 'exempt'), '');
    const { exemptions, errors } = await readExemptionFiles(runtimeDir, TRADING);
    expect(exemptions.size).toBe(0);
    expect(errors).toHaveLength(TRADING.length);
  });
});
