// The root side's JSON files against the contract's schemas (state.json, status --json, drill.json, the
// exemption records): (a) what the bash side really prints or writes is valid (`status --json` in each
// verdict; as root, the state.json of a real activation); (b) the exporter's readers accept every valid
// fixture and refuse every invalid one, which the schema refuses too.
import { readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError } from '../../src/readers/json-fields.js';
import { unitObjectPath } from '../../src/readers/unit-asserts.js';
import { WIRING_UNITS } from '../../src/readers/ess-units.js';
import { DRILL_SCHEMA, parseDrillJson } from '../../src/readers/drill-file.js';
import { parseExemption } from '../../src/readers/exemptions.js';
import { parseStateJson, STATE_SCHEMA } from '../../src/readers/state-file.js';
import { writeTripRequest } from '../../src/webhook/trip-request.js';
import { TRADING } from '../../sandbox/units.js';
import { testTmpDir } from '../../sandbox/test-tmp.js';
import { REPO } from './fixtures.js';
import { type SchemaName, schemaErrors } from './schemas.js';

/** Each JSON file of the root side: its schema, its fixtures and the exporter's reader of it. */
const FILES = [
  { area: 'state', schema: 'state.schema.json', read: (text: string) => parseStateJson(text) },
  { area: 'drill', schema: 'drill.schema.json', read: (text: string) => parseDrillJson(text) },
  {
    area: 'exemption',
    schema: 'exemption.schema.json',
    // the file is named after the unit: read it under the name its record gives (or a valid one)
    read: (text: string) => parseExemption(text, recordUnit(text) ?? 'quantum-execution.service'),
  },
] as const;

function recordUnit(text: string): string | undefined {
  try {
    const unit = (JSON.parse(text) as { unit?: unknown }).unit;
    return typeof unit === 'string' ? unit : undefined;
  } catch {
    return undefined;
  }
}

const fixtures = (area: string, prefix: 'valid-' | 'invalid-'): [string, string][] =>
  readdirSync(`${REPO}contract/fixtures/${area}/`)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort()
    .map((name) => [basename(name, '.json'), `${REPO}contract/fixtures/${area}/${name}`]);

/** The schema's complaints about a file's text; not JSON at all is a complaint too. */
function textErrors(schema: SchemaName, text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return [`not JSON: ${(error as Error).message}`];
  }
  return schemaErrors(schema, value);
}

describe.each(FILES)('contract/$schema and contract/fixtures/$area', ({ area, schema, read }) => {
  describe.each(fixtures(area, 'valid-'))('%s', (_name, file) => {
    it('is valid, and the exporter reads it', async () => {
      const text = await readFile(file, 'utf8');
      expect(textErrors(schema, text)).toEqual([]);
      expect(() => read(text)).not.toThrow();
    });
  });

  describe.each(fixtures(area, 'invalid-'))('%s', (_name, file) => {
    it('is invalid, and the exporter refuses it with the reason', async () => {
      const text = await readFile(file, 'utf8');
      expect(textErrors(schema, text)).not.toEqual([]);
      expect(() => read(text)).toThrow(FileFormatError);
    });
  });

  it('has fixtures of both kinds', () => {
    expect(fixtures(area, 'valid-').length).toBeGreaterThanOrEqual(2);
    expect(fixtures(area, 'invalid-').length).toBeGreaterThanOrEqual(7);
  });
});

describe('versions', () => {
  it('the schemas are the versions the exporter reads', async () => {
    const version = async (name: string): Promise<unknown> =>
      (JSON.parse(await readFile(`${REPO}contract/${name}`, 'utf8')) as { properties: { schema: { const: unknown } } }).properties.schema.const;
    expect(await version('state.schema.json')).toBe(STATE_SCHEMA);
    expect(await version('drill.schema.json')).toBe(DRILL_SCHEMA);
  });
});

// ---------------------------------------------------------------- the bash side, for real
// `ess_controller.sh status --json` as any user, against a fake systemctl and busctl (first on PATH) and
// a configuration whose paths lie in a temporary directory. status only reads: nothing is started or
// stopped, nothing outside the directory is written.

const MONITOR_UNIT = 'redis-server.service';
const SWITCH = ['quantum-ess.path', 'quantum-ess-trip.path', 'quantum-ess-trigger.service', 'quantum-ess-guard.path'];

interface Scenario {
  /** LoadState ActiveState SubState per unit; a unit not listed is not-found. */
  readonly units: Readonly<Record<string, string>>;
  readonly flag?: boolean;
  readonly latched?: boolean;
  readonly systemctlFails?: boolean;
  /** state.env, the controller's memory that state.json is rendered from; none: never activated. */
  readonly stateEnv?: string;
  readonly verdict: string;
}

const up = 'loaded active running';
const down = 'loaded inactive dead';
const armedUnits = (trading: string): Record<string, string> => ({
  ...Object.fromEntries(TRADING.map((u) => [u, trading])),
  [MONITOR_UNIT]: up,
  'quantum-ess.path': 'loaded active waiting',
  'quantum-ess-trip.path': 'loaded active waiting',
  'quantum-ess-guard.path': 'loaded active waiting',
  'quantum-ess-trigger.service': down,
});

// Times in microseconds, units as unit=result/state/stop_us (deploy/lib/record.sh).
const ACTIVATED = [
  'ACTIVE=1',
  'FLAG_ID=20261126T012708Z-1a2b3c4d',
  'UPDATED_US=1795656428180000',
  'ACT_ID=20261126T012708Z-1a2b3c4d',
  'ACT_SOURCE=cli',
  'ACT_ACTOR=alice (sudo)',
  'ACT_REASON=flash crash "BTC" \\ 50% in 1 min',
  'ACT_TRIGGER_US=1795656428000000',
  'ACT_STOPPED_US=1795656428080000',
  'ACT_LATENCY_US=80000',
  'ACT_RESULT=degraded',
  `ACT_UNITS=${TRADING[0]}=stopped/inactive/50000 ${TRADING[1]}=killed/inactive/1004000 ${TRADING[2]}=leftovers-killed/inactive/60000 ${TRADING[3]}=already-inactive/inactive/0`,
  'COUNT_cli=3',
  'COUNT_path=1',
  'COUNT_alertmanager=2',
  'TAMPER_TOTAL=1',
  'TAMPER_TIME_US=1795656450000000',
  'TAMPER_DETAIL=/run/quantum/ESS_ON removed outside the controller',
  'LEFTOVER_KILLS_TOTAL=2',
];
const NOT_ALL_STOPPED = [
  'ACTIVE=1',
  'FLAG_ID=20261126T012708Z-1a2b3c4d',
  'UPDATED_US=1795656428180000',
  'ACT_ID=20261126T012708Z-1a2b3c4d',
  'ACT_SOURCE=alertmanager',
  'ACT_ACTOR=systemd',
  'ACT_REASON=',
  'ACT_TRIGGER_US=1795656428000000',
  'ACT_STOPPED_US=',
  'ACT_LATENCY_US=',
  'ACT_RESULT=failed',
  `ACT_UNITS=${TRADING[0]}=not-stopped/deactivating/- ${TRADING[1]}=not-found/inactive/- ${TRADING[2]}=exempt/active/-`,
  'COUNT_alertmanager=1',
];
const DEACTIVATED = [
  ...ACTIVATED.filter((line) => !/^(ACTIVE|FLAG_ID)=/.test(line)),
  'ACTIVE=0',
  'DEA_TIME_US=1795656500000000',
  'DEA_ACTOR=root',
  'DEA_REASON=incident closed',
  'DEA_RESULT=ok',
  'DEA_DETAIL=',
];

const SCENARIOS: Record<string, Scenario> = {
  'armed, never activated': { units: armedUnits(up), verdict: 'armed' },
  'armed after a deactivation': { units: armedUnits(up), stateEnv: DEACTIVATED.join('\n'), verdict: 'armed' },
  'active': { units: armedUnits(down), flag: true, latched: true, stateEnv: ACTIVATED.join('\n'), verdict: 'active' },
  'violation, not every unit stopped': {
    units: { ...armedUnits(down), [TRADING[0]]: 'loaded deactivating stop-sigterm', [TRADING[1]]: 'not-found inactive dead' },
    flag: true,
    latched: true,
    stateEnv: NOT_ALL_STOPPED.join('\n'),
    verdict: 'violation',
  },
  'not armed': { units: { ...armedUnits(up), 'quantum-ess-trip.path': down }, verdict: 'not-armed' },
  'tampered': { units: armedUnits(down), latched: true, stateEnv: ACTIVATED.join('\n'), verdict: 'tampered' },
  'unknown: systemctl fails': { units: {}, systemctlFails: true, stateEnv: ACTIVATED.join('\n'), verdict: 'unknown' },
  'odd bytes in the recorded texts': {
    units: armedUnits(up),
    stateEnv: [...DEACTIVATED.filter((l) => !l.startsWith('DEA_REASON=')), 'DEA_REASON=\x01tab\there \xff\xfe {"x":1}'].join('\n'),
    verdict: 'armed',
  },
};

const FAKE_SYSTEMCTL = `#!/bin/bash
# A systemd that does what it is told at once: show prints one block per unit, in argument order, from
# $ESS_FAKE/units ("UNIT LoadState ActiveState SubState" lines; a unit not listed is not-found); stop makes
# units inactive; every other verb (kill, daemon-reload, reset-failed) succeeds and changes nothing.
[[ -e $ESS_FAKE/systemctl-fails ]] && { echo 'Failed to connect to bus: No such file or directory' >&2; exit 1; }
verb=$1 all=$*
while (($#)) && [[ $1 != -- ]]; do shift; done
shift
case $verb in
  show)
    if [[ $all == *--property=LoadState,FragmentPath,DropInPaths,Triggers* ]]; then
      # the switch's wiring, loaded as the fake installer recorded it (wiring.installed)
      first=1
      for u in "$@"; do
        ((first)) || echo
        first=0
        printf 'LoadState=loaded\\nFragmentPath=/etc/systemd/system/%s\\nDropInPaths=\\nTriggers=\\n' "$u"
        printf 'Requires=system.slice sysinit.target\\nRequisite=\\nBindsTo=\\nAfter=quantum-ess.path basic.target\\nConflictedBy=\\n'
      done
      exit 0
    fi
    first=1
    for u in "$@"; do
      ((first)) || echo
      first=0
      line=$(grep -m1 -F "$u " "$ESS_FAKE/units") || line="$u not-found inactive dead"
      read -r _ load active sub since <<<"$line"
      printf 'LoadState=%s\\nActiveState=%s\\nSubState=%s\\nMainPID=0\\nControlGroup=\\nInactiveEnterTimestamp=%s\\nNeedDaemonReload=no\\n' \\
        "$load" "$active" "$sub" "\${since//_/ }"
    done ;;
  stop) # inactive from now on: InactiveEnterTimestamp as --timestamp=us+utc prints it
    now=$(date -u '+%a_%Y-%m-%d_%H:%M:%S.%6N_UTC')
    for u in "$@"; do
      grep -v -F "$u " "$ESS_FAKE/units" >"$ESS_FAKE/units.new" || true
      echo "$u loaded inactive dead $now" >>"$ESS_FAKE/units.new"
      mv -f "$ESS_FAKE/units.new" "$ESS_FAKE/units"
    done ;;
esac
exit 0
`;
const FAKE_BUSCTL = `#!/bin/bash
# busctl get-property OBJECT INTERFACE PROPERTY: a wiring unit's Paths or ExecStart as recorded; a trading
# unit's Asserts: every latch assertion, as the drop-in applies them
case $5 in Paths|ExecStart) printf '%s of %s\\n' "$5" "$3"; exit 0 ;; esac
printf 'a(sbbsi) 3 "AssertPathExists" false true "%s" 0 "AssertPathExists" false true "%s" 0 "AssertDirectoryNotEmpty" false true "%s" 0\\n' \\
  "$ESS_FAKE/run/ESS_ON" "$ESS_FAKE/state/latched" "$ESS_FAKE/spool/incoming"
`;

/** The fake installer's wiring record: what the fake systemctl and busctl above say is loaded. */
const FAKE_WIRING_RECORD = WIRING_UNITS.flatMap((unit) => {
  const bus = unit.endsWith('.path')
    ? ['Triggers=', `Paths=Paths of ${unitObjectPath(unit)}`]
    : [`ExecStart=ExecStart of ${unitObjectPath(unit)}`, 'Requires=sysinit.target system.slice', 'Requisite=', 'BindsTo=', 'After=basic.target', 'ConflictedBy='];
  return [`FragmentPath=/etc/systemd/system/${unit}`, 'DropInPaths=', ...bus].map((line) => `${unit} ${line}\n`);
}).join('');

/**
 * A root side without systemd in a temporary directory: the fake systemctl and busctl first on PATH, the
 * scenario's units, flag, persisted latch and controller memory, and an ess.conf whose paths lie inside.
 */
async function fakeRoot(parent: string, name: string, scenario: Scenario): Promise<{ fake: string; env: Record<string, string> }> {
  const fake = join(parent, name.replace(/[^a-z]+/g, '-'));
  await mkdir(join(fake, 'bin'), { recursive: true });
  await mkdir(join(fake, 'run'));
  await mkdir(join(fake, 'state'));
  await writeFile(join(fake, 'bin/systemctl'), FAKE_SYSTEMCTL);
  await writeFile(join(fake, 'bin/busctl'), FAKE_BUSCTL);
  await chmod(join(fake, 'bin/systemctl'), 0o755);
  await chmod(join(fake, 'bin/busctl'), 0o755);
  await writeFile(join(fake, 'units'), Object.entries(scenario.units).map(([unit, states]) => `${unit} ${states}\n`).join(''));
  if (scenario.systemctlFails === true) await writeFile(join(fake, 'systemctl-fails'), '');
  if (scenario.flag === true) await writeFile(join(fake, 'run/ESS_ON'), '{"id":"20261126T012708Z-1a2b3c4d"}\n');
  if (scenario.latched === true) await writeFile(join(fake, 'state/latched'), '20261126T012708Z-1a2b3c4d\n');
  if (scenario.stateEnv !== undefined) await writeFile(join(fake, 'state/state.env'), Buffer.from(`${scenario.stateEnv}\n`, 'latin1'));
  const conf = (await readFile(`${REPO}deploy/ess.conf`, 'utf8'))
    .split('\n')
    .filter((line) => !/^(MONITOR_UNITS|FLAG_FILE|LOCK_FILE|STATE_DIR|AUDIT_FILE|SPOOL_DIR|REDIS_ENABLED)=/.test(line));
  conf.push(
    `MONITOR_UNITS=${MONITOR_UNIT}`,
    `FLAG_FILE=${fake}/run/ESS_ON`,
    `LOCK_FILE=${fake}/lock/ess.lock`,
    `STATE_DIR=${fake}/state`,
    `AUDIT_FILE=${fake}/log/audit.jsonl`,
    `SPOOL_DIR=${fake}/spool`,
    'REDIS_ENABLED=no',
  );
  await writeFile(join(fake, 'ess.conf'), `${conf.join('\n')}\n`);
  await writeFile(join(fake, 'wiring.installed'), FAKE_WIRING_RECORD);
  return { fake, env: { LC_ALL: 'C', ESS_CONFIG: join(fake, 'ess.conf'), ESS_FAKE: fake, PATH: `${fake}/bin:${process.env.PATH ?? ''}` } };
}

describe('ess_controller.sh status --json (the bash side) against status.schema.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await testTmpDir('ess-contract-status-');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function status(name: string, scenario: Scenario): Promise<{ exitCode: number | undefined; json: Record<string, unknown> }> {
    const root = await fakeRoot(dir, name, scenario);
    const result = await execa('bash', [`${REPO}deploy/ess_controller.sh`, 'status', '--json'], {
      reject: false,
      timeout: 20_000,
      stdin: 'ignore',
      env: root.env,
    });
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(result.stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`status --json printed no JSON (exit ${String(result.exitCode)}):\n${result.stdout}\n${result.stderr}`);
    }
    return { exitCode: result.exitCode, json };
  }

  it.each(Object.entries(SCENARIOS))('%s', async (name, scenario) => {
    const { exitCode, json } = await status(name, scenario);
    expect(schemaErrors('status.schema.json', json), JSON.stringify(json)).toEqual([]);
    expect(json.verdict).toBe(scenario.verdict);
    expect(exitCode).toBe(json.exit_code);
    // the embedded state.json, as the renderer wrote it, is one the exporter reads
    expect(schemaErrors('state.schema.json', json.state)).toEqual([]);
    expect(() => parseStateJson(JSON.stringify(json.state))).not.toThrow();
    expect((json.state as { last_activation: unknown }).last_activation === null).toBe(scenario.stateEnv === undefined);
    // every unit the controller remembers, with its stop time (unit=result/state/stop_us, "-" when it did not stop)
    const remembered = /^ACT_UNITS=(.*)$/m.exec(scenario.stateEnv ?? '')?.[1]?.split(' ') ?? [];
    const rendered = (json.state as { last_activation: { units: { unit: string; stop_seconds: number | null }[] } | null }).last_activation?.units ?? [];
    expect(rendered.map(({ unit, stop_seconds }) => `${unit} ${String(stop_seconds)}`)).toEqual(
      remembered.map((item) => {
        const [unit, rest = ''] = item.split('=');
        const stop = rest.split('/')[2] ?? '';
        return `${unit} ${/^[0-9]+$/.test(stop) ? String(Number(stop) / 1e6) : 'null'}`;
      }),
    );
    // and the schema is not a formality: the same output with a wrong exit code, status word or unit entry is refused
    const units = json.units as Record<string, unknown>[];
    const wrongUnit = units.map((u, i) => (i === 0 ? { ...u, role: u.role === 'trading' ? 'monitor' : 'trading' } : u));
    for (const wrong of [
      { ...json, exit_code: json.exit_code === 0 ? 3 : 0 },
      { ...json, status: json.status === 'ACTIVE' ? 'INACTIVE' : 'ACTIVE' },
      { ...json, units: wrongUnit },
      { ...json, state: { ...(json.state as object), schema: 1 } },
    ]) {
      expect(schemaErrors('status.schema.json', wrong)).not.toEqual([]);
    }
  });
});

// A real activation, from a trip request the exporter's writer put into the spool: the controller claims
// and reads it (contract/README.md section 6), stops the units (the fake systemd obeys at once) and writes
// state.json (section 3) and the audit trail. Root only (activate refuses anyone else), in a private
// mount namespace with its own /run, so that nothing on this host's /run is touched.
const canActivate = process.getuid?.() === 0;

describe.skipIf(!canActivate)('ess_controller.sh activate --from-spool (the bash side, as root)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await testTmpDir('ess-contract-activate-');
  });
  afterAll(async () => {
    // the claim leaves incoming/ append-only, as installed (chattr +a): not removable until lifted
    await execa('chattr', ['-R', '-a', dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the request the exporter wrote, stops everything and writes a state.json the schema and the exporter accept', async () => {
    const { fake, env } = await fakeRoot(dir, 'trip', { units: armedUnits(up), verdict: 'active' });
    for (const sub of ['tmp', 'incoming']) await mkdir(join(fake, 'spool', sub), { recursive: true });
    const written = await writeTripRequest(join(fake, 'spool'), { reason: 'QuantumDrawdownBreach: drawdown 7% on h1', fingerprint: 'a1b2c3d4e5f6' });

    const result = await execa(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o size=1m ess-contract /run && exec "$@"', 'sh',
        'bash', `${REPO}deploy/ess_controller.sh`, 'activate', '--from-spool'],
      { reject: false, timeout: 30_000, stdin: 'ignore', env },
    );
    const transcript = `exit ${String(result.exitCode)}\n${result.stdout}\n${result.stderr}`;
    expect(result.exitCode, transcript).toBe(0);

    const text = await readFile(join(fake, 'state/state.json'), 'utf8');
    const state = JSON.parse(text) as { active: boolean; last_activation: { source: string; reason: string; result: string; units: { unit: string; result: string }[] } };
    expect(schemaErrors('state.schema.json', state), text).toEqual([]);
    expect(state.active).toBe(true);
    expect(state.last_activation.source).toBe('alertmanager');
    expect(state.last_activation.reason).toBe('QuantumDrawdownBreach: drawdown 7% on h1');
    expect(state.last_activation.result).toBe('ok');
    expect(state.last_activation.units.map(({ unit }) => unit)).toEqual([...TRADING]);
    const read = parseStateJson(text);
    expect(read.activationsTotal).toEqual({ alertmanager: 1 });
    expect(read.lastActivation?.units.map(({ result }) => result), text).toEqual(TRADING.map(() => "stopped"));

    // the request was claimed (incoming/ is empty) and audited under its own name
    expect(readdirSync(join(fake, 'spool/incoming'))).toEqual([]);
    const audit = await readFile(join(fake, 'log/audit.jsonl'), 'utf8');
    expect(audit).toContain(`"request":"${basename(written.path)}","source":"alertmanager"`);

    // and status --json now says active, with this state.json
    const after = await execa('bash', [`${REPO}deploy/ess_controller.sh`, 'status', '--json'], { reject: false, stdin: 'ignore', env });
    const json = JSON.parse(after.stdout) as { verdict: string; state: unknown };
    expect(schemaErrors('status.schema.json', json)).toEqual([]);
    expect(json.verdict).toBe('active');
    expect(json.state).toEqual(JSON.parse(text));
    expect((json.state as { last_activation: { scope: unknown } }).last_activation.scope).toBe('fleet');
  });

  it('stops on every request whatever its scope says, and records the scopes (section 6)', async () => {
    const { fake, env } = await fakeRoot(dir, 'scopes', { units: armedUnits(up), verdict: 'active' });
    const spool = join(fake, 'spool');
    for (const sub of ['tmp', 'incoming']) await mkdir(join(spool, sub), { recursive: true });
    const first = await writeTripRequest(spool, { reason: 'host breach', fingerprint: 'f1', scope: 'host:trade-eu-01', receivedAtMs: 1795656428000 });
    await writeTripRequest(spool, { reason: 'group breach', fingerprint: 'f2', scope: 'group:exec', receivedAtMs: 1795656429000 });
    // hostile: a scope line that would break the audit JSON if it were copied
    await writeFile(join(spool, 'incoming', '9999999999999-evil-000000000000'), 'source=alertmanager\nscope=host:x","y":"\nreason=evil\n');

    const result = await execa(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o size=1m ess-contract /run && exec "$@"', 'sh',
        'bash', `${REPO}deploy/ess_controller.sh`, 'activate', '--from-spool'],
      { reject: false, timeout: 30_000, stdin: 'ignore', env },
    );
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    const text = await readFile(join(fake, 'state/state.json'), 'utf8');
    expect(schemaErrors('state.schema.json', JSON.parse(text)), text).toEqual([]);
    const state = JSON.parse(text) as { last_activation: { scope: string; reason: string; result: string } };
    expect(state.last_activation).toMatchObject({ scope: 'host:trade-eu-01,group:exec,invalid', result: 'ok' });
    expect(state.last_activation.reason).toMatch(/^host breach/);
    expect(() => parseStateJson(text)).not.toThrow();

    const audit = (await readFile(join(fake, 'log/audit.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const activate = audit.find((entry) => entry.event === 'activate');
    const batch = audit.find((entry) => entry.event === 'trip-requests') as { scope: string; requests: { request: string; scope: string }[] };
    expect(activate?.scope).toBe('host:trade-eu-01,group:exec,invalid');
    expect(batch.scope).toBe('host:trade-eu-01,group:exec,invalid');
    expect(batch.requests.map(({ scope }) => scope)).toEqual(['host:trade-eu-01', 'group:exec', 'invalid']);
    expect(batch.requests[0]?.request).toBe(basename(first.path));
  });
});
