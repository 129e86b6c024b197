import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ESS_CONF_DEFAULTS } from '../../../src/config/ess-conf.js';

const run = promisify(execFile);
const ALERTING = fileURLToPath(new URL('../../../alerting/', import.meta.url));
const RULES = `${ALERTING}ess.rules.yml`;
const FLEET_RULES = `${ALERTING}ess-fleet.rules.yml`;
const AM_CONFIG = `${ALERTING}alertmanager.example.yml`;
const AM_FLEET_CONFIG = `${ALERTING}alertmanager.fleet.example.yml`;
const FLEET_TOOL = fileURLToPath(new URL('../../../fleet/ess_fleet.sh', import.meta.url));
const TESTS = `${ALERTING}tests/`;
const RUNBOOK_COMMANDS = ['ess_controller.sh status', 'journalctl -t quantum-ess'];

interface Rule {
  readonly alert?: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
interface RuleFile {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly rules: readonly Rule[] }>;
}
interface PromtoolTests {
  readonly tests: ReadonlyArray<{
    readonly alert_rule_test?: ReadonlyArray<{ readonly alertname: string; readonly exp_alerts?: readonly unknown[] }>;
  }>;
}

/** Runs a tool and returns its output; a non-zero exit fails with everything the tool printed. */
async function check(file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ALERTING, timeout: 170_000 });
    return stdout + stderr;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
}

async function requireTool(tool: string, debianPackage: string): Promise<void> {
  try {
    await run(tool, ['--version'], { timeout: 10_000 });
  } catch {
    throw new Error(`${tool} is not installed: run \`apt-get install -y ${debianPackage}\` (Debian packages prometheus and prometheus-alertmanager)`);
  }
}

async function ruleFile(file = RULES): Promise<RuleFile> {
  return parse(await readFile(file, 'utf8')) as RuleFile;
}

/** Both rule files, as one: every check on an alert applies to the fleet's alerts too. */
async function allRules(): Promise<RuleFile> {
  return { groups: [...(await ruleFile()).groups, ...(await ruleFile(FLEET_RULES)).groups] };
}

async function promtoolTestFiles(): Promise<string[]> {
  return (await readdir(TESTS)).filter((name) => name.endsWith('.yml')).sort().map((name) => `${TESTS}${name}`);
}

function alerts(rules: RuleFile, group?: string): Rule[] {
  return rules.groups.filter((g) => group === undefined || g.name === group).flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
}

async function receiversFor(labels: Readonly<Record<string, string>>, config = AM_CONFIG): Promise<string> {
  const args = Object.entries(labels).map(([name, value]) => `${name}=${value}`);
  const { stdout } = await run('amtool', ['config', 'routes', 'test', `--config.file=${config}`, ...args]);
  return stdout.trim();
}

describe('alerting', () => {
  beforeAll(async () => {
    // Missing tools fail the suite instead of skipping it: an untested rule file must not look green.
    await requireTool('promtool', 'prometheus');
    await requireTool('amtool', 'prometheus-alertmanager');
  });

  it('promtool check rules accepts ess.rules.yml and ess-fleet.rules.yml', async () => {
    expect(await check('promtool', ['check', 'rules', RULES])).toContain('SUCCESS');
    expect(await check('promtool', ['check', 'rules', FLEET_RULES])).toContain('SUCCESS');
  });

  it('promtool test rules passes every test file in alerting/tests', async () => {
    const files = await promtoolTestFiles();
    expect(files.length).toBeGreaterThan(0);
    expect(await check('promtool', ['test', 'rules', ...files])).toContain('SUCCESS');
    // about 30 s of CPU: over a minute on the 2-core machine under load
  }, 180_000);

  it('amtool check-config accepts alertmanager.example.yml and alertmanager.fleet.example.yml', async () => {
    expect(await check('amtool', ['check-config', AM_CONFIG])).toContain('SUCCESS');
    expect(await check('amtool', ['check-config', AM_FLEET_CONFIG])).toContain('SUCCESS');
  });

  it('alerting/tests/routes.sh resolves every case to its expected receivers', async () => {
    expect(await check('bash', [`${TESTS}routes.sh`])).toMatch(/\d+ passed, 0 failed/);
  }, 60_000);

  it('alerting/tests/routes.sh --fleet resolves every fleet case to its expected receivers', async () => {
    expect(await check('bash', [`${TESTS}routes.sh`, '--fleet'])).toMatch(/\d+ passed, 0 failed/);
  }, 60_000);

  it('has a firing and a not-firing promtool case for every alert', async () => {
    const cases = new Map<string, { fire: number; silent: number }>();
    for (const file of await promtoolTestFiles()) {
      const parsed = parse(await readFile(file, 'utf8')) as PromtoolTests;
      for (const test of parsed.tests.flatMap((t) => t.alert_rule_test ?? [])) {
        const counts = cases.get(test.alertname) ?? { fire: 0, silent: 0 };
        if ((test.exp_alerts ?? []).length > 0) counts.fire += 1;
        else counts.silent += 1;
        cases.set(test.alertname, counts);
      }
    }
    for (const rule of alerts(await allRules())) {
      const counts = cases.get(rule.alert ?? '');
      expect(counts?.fire ?? 0, `${rule.alert} firing cases`).toBeGreaterThan(0);
      // the heartbeat always fires: that it does at every time is its test
      if (rule.labels?.ess_heartbeat !== 'true') expect(counts?.silent ?? 0, `${rule.alert} not-firing cases`).toBeGreaterThan(0);
    }
  });

  it('gives every alert a severity (the heartbeat none: it never pages), a summary, a description and a runbook with the README commands', async () => {
    for (const rule of alerts(await allRules())) {
      if (rule.labels?.ess_heartbeat === 'true') expect(rule.labels.severity, rule.alert).toBeUndefined();
      else expect(['critical', 'warning'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.description, `${rule.alert} description`).toBeTruthy();
      for (const command of RUNBOOK_COMMANDS) expect(rule.annotations?.runbook ?? '', `${rule.alert} runbook`).toContain(command);
    }
  });

  it('never lets an ESS health alert trip the ESS, and labels every example trip alert ess_trip="true"', async () => {
    const rules = await ruleFile();
    const own = alerts(rules, 'ess');
    const examples = alerts(rules, 'ess-trip-examples');
    expect(own.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'ESSActive',
        'ESSLatchViolation',
        'ESSLatchTampered',
        'ESSLatchNotPersisted',
        'ESSResumeInterrupted',
        'ESSStatusUnknown',
        'ESSLeftoverProcessesKilled',
        'ESSSlowActivation',
        'ESSExporterDown',
        'ESSExporterReadErrors',
        'ESSSwitchDisarmed',
        'ESSExemptionActive',
        'ESSDrillOverdue',
        'ESSDrillFailed',
      ]),
    );
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const rule of own) {
      expect(rule.labels?.ess_trip, rule.alert).toBeUndefined();
      expect(rule.labels?.service, rule.alert).toBe('quantum-ess');
    }
    for (const rule of examples) expect(rule.labels?.ess_trip, rule.alert).toBe('true');
  });

  it('ships the heartbeat: ESSWatchdog always fires, labelled ess_heartbeat="true", never a trip', async () => {
    const heartbeats = alerts(await ruleFile(), 'ess-heartbeat');
    expect(heartbeats).toHaveLength(1);
    expect(heartbeats[0]).toMatchObject({ alert: 'ESSWatchdog', expr: 'vector(1)', labels: { ess_heartbeat: 'true', service: 'quantum-ess' } });
    expect(heartbeats[0]?.labels?.ess_trip).toBeUndefined();
    for (const rule of alerts(await allRules())) if (rule.alert !== 'ESSWatchdog') expect(rule.labels?.ess_heartbeat, rule.alert).toBeUndefined();
  });

  it('routes the heartbeat first, to the ESS receiver only, fast enough for the default WATCHDOG_MAX_SILENCE_SEC', async () => {
    const seconds = (text: string): number => Number(/^([0-9]+)s$/.exec(text)?.[1] ?? NaN) || Number(/^([0-9]+)m$/.exec(text)?.[1] ?? NaN) * 60;
    for (const [file, receiver] of [[AM_CONFIG, 'quantum-ess'], [AM_FLEET_CONFIG, 'quantum-ess-fleet']] as const) {
      const config = parse(await readFile(file, 'utf8')) as { route: { routes: Array<Record<string, string | string[]>> } };
      const first = config.route.routes[0] ?? {};
      expect(first, file).toMatchObject({ receiver, matchers: ['ess_heartbeat="true"'], group_wait: '0s', continue: false });
      // the rule of contract/README.md section 2: the limit exceeds 2 x repeat_interval +
      // group_interval + the HA pair's --cluster.peer-timeout (15 s unless set)
      const needed = 2 * seconds(String(first.repeat_interval)) + seconds(String(first.group_interval)) + 15;
      expect(needed, file).toBeGreaterThan(0);
      expect(needed, file).toBeLessThan(Number(ESS_CONF_DEFAULTS.WATCHDOG_MAX_SILENCE_SEC));
    }
  });

  it('never lets a fleet alert trip anything: no ess_trip and no trip scope label', async () => {
    const fleet = alerts(await ruleFile(FLEET_RULES));
    expect(fleet.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['ESSFleetPartialLatch', 'ESSHostUnreachableDuringTrip', 'ESSFleetHostMissing']),
    );
    for (const rule of fleet) {
      for (const label of ['ess_trip', 'ess_scope', 'ess_host', 'ess_group']) expect(rule.labels?.[label], `${rule.alert} ${label}`).toBeUndefined();
      expect(rule.labels?.service, rule.alert).toBe('quantum-ess');
    }
  });

  it('routes in the fleet config: trip alerts of every scope to the fleet receiver, ESS and fleet alerts only to humans', async () => {
    const rules = await allRules();
    for (const rule of alerts(rules, 'ess-trip-examples')) {
      expect(await receiversFor({ alertname: rule.alert ?? '', ...rule.labels }, AM_FLEET_CONFIG), rule.alert).toBe('quantum-ess-fleet,oncall-pager');
    }
    for (const scope of [{ ess_scope: 'fleet' }, { ess_group: 'exec' }, { ess_host: 'h1' }]) {
      const labels = { alertname: 'ESSManualFleetStop', ess_trip: 'true', severity: 'critical', trip_id: '20261126T060000Z-0a1b2c3d', ...scope };
      expect(await receiversFor(labels, AM_FLEET_CONFIG), JSON.stringify(scope)).toBe('quantum-ess-fleet,oncall-pager');
    }
    for (const rule of [...alerts(rules, 'ess'), ...alerts(rules, 'ess-fleet')]) {
      const expected = rule.labels?.severity === 'critical' ? 'oncall-pager' : 'oncall-chat';
      expect(await receiversFor({ alertname: rule.alert ?? '', ...rule.labels }, AM_FLEET_CONFIG), rule.alert).toBe(expected);
    }
  }, 60_000);

  it('trips every fleet host over TLS with a bearer token file, at once, without resolved notifications', async () => {
    const config = parse(await readFile(AM_FLEET_CONFIG, 'utf8')) as {
      route: { routes: Array<Record<string, unknown>> };
      receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }>;
    };
    const hooks = config.receivers.find((receiver) => receiver.name === 'quantum-ess-fleet')?.webhook_configs ?? [];
    expect(hooks.length).toBeGreaterThanOrEqual(4);
    for (const hook of hooks) {
      expect(hook.url).toMatch(/^https:\/\/[a-z0-9.-]+:10170\/alertmanager$/);
      expect(hook).toMatchObject({
        send_resolved: false,
        http_config: {
          authorization: { type: 'Bearer', credentials_file: '/etc/prometheus/ess-webhook.token' },
          tls_config: { ca_file: '/etc/prometheus/ess-ca.pem' },
        },
      });
    }
    expect(new Set(hooks.map((hook) => hook.url)).size).toBe(hooks.length);
    // route 0 is the heartbeat's; the first for trips follows it
    expect(config.route.routes[1]).toMatchObject({ receiver: 'quantum-ess-fleet', matchers: ['ess_trip="true"'], group_by: ['...'], group_wait: '0s', continue: true });
  });

  it('ships the fleet receiver exactly as ess_fleet.sh render-receivers writes it', async () => {
    const text = await readFile(AM_FLEET_CONFIG, 'utf8');
    const block = /^ {2}# BEGIN ess-fleet-receiver[^\n]*\n[\s\S]*?^ {2}# END ess-fleet-receiver\n/m.exec(text)?.[0];
    const targets = [...(block ?? '').matchAll(/url: https:\/\/([^/]+)\/alertmanager/g)].map(([, target]) => target);
    const dir = await mkdtemp(join(tmpdir(), 'ess-fleet-'));
    try {
      await writeFile(join(dir, 'targets.json'), JSON.stringify([{ targets }]));
      const { stdout } = await run('bash', [FLEET_TOOL, 'render-receivers', '--targets-file', join(dir, 'targets.json')]);
      expect(stdout).toBe(block);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('routes each rule of ess.rules.yml: trip alerts to the ESS and a pager, ESS alerts only to humans', async () => {
    const rules = await ruleFile();
    for (const rule of alerts(rules, 'ess-trip-examples')) {
      expect(await receiversFor({ alertname: rule.alert ?? '', ...rule.labels }), rule.alert).toBe('quantum-ess,oncall-pager');
    }
    for (const rule of alerts(rules, 'ess')) {
      const expected = rule.labels?.severity === 'critical' ? 'oncall-pager' : 'oncall-chat';
      expect(await receiversFor({ alertname: rule.alert ?? '', ...rule.labels }), rule.alert).toBe(expected);
    }
  }, 60_000);

  it('sends trips to the loopback receiver with a bearer token file and without resolved notifications', async () => {
    const config = parse(await readFile(AM_CONFIG, 'utf8')) as {
      receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }>;
    };
    const ess = config.receivers.find((receiver) => receiver.name === 'quantum-ess')?.webhook_configs?.[0];
    expect(ess).toMatchObject({
      url: 'http://127.0.0.1:10170/alertmanager',
      send_resolved: false,
      http_config: { authorization: { type: 'Bearer', credentials_file: '/etc/prometheus/ess-webhook.token' } },
    });
  });
});
