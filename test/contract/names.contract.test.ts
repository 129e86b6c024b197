// contract/names.json against the code: the exporter's constants, the controller's defaults (as
// `check-config` prints them), the installer's unit files, the trip-request writer and the one list of
// units the tests use (sandbox/units.ts). Names that only the bash side knows are checked in deploy/ by
// their value, so that a renamed variable does not break this test but a changed name does.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ESS_CONFIG_FILE, ESS_CONF_DEFAULTS, parseEssConf } from '../../src/config/ess-conf.js';
import { DEFAULT_EXPORTER_CONFIG_FILE, DEFAULT_LISTEN } from '../../src/config/exporter-config.js';
import { DEFAULT_RUNTIME_DIR } from '../../src/readers/latch-markers.js';
import { SWITCH_UNITS } from '../../src/readers/ess-units.js';
import { WATCHDOG_CHECK_STALE_SEC } from '../../src/readers/watchdog-status.js';
import { MAX_REASON_LENGTH, tripRequestContent, tripRequestName } from '../../src/webhook/trip-request.js';
import { WEBHOOK_PATH } from '../../src/webhook/webhook-router.js';
import { SWITCH } from '../../sandbox/fake-host.js';
import { FLAG, LATCHED, MONITOR, START_ORDER, TRADING } from '../../sandbox/units.js';
import { REPO, runBash, transcript } from './fixtures.js';

const NAMES = JSON.parse(readFileSync(`${REPO}contract/names.json`, 'utf8')) as {
  journal_tag: string;
  exporter: { listen: string; port: number; webhook_path: string };
  account: { user: string; group: string };
  redis_key: string;
  units: Record<string, string>;
  switch_units: string[];
  spool_mount: { unit: string; template: string };
  drop_ins: { latch: string; exemption: string };
  exemption_timer_prefix: string;
  watchdog_check_stale_sec: number;
  paths: Record<string, string>;
};
const P = NAMES.paths;
const deploy = (file: string): string => readFileSync(`${REPO}deploy/${file}`, 'utf8');
const deployLib = ['activate', 'config', 'deactivate', 'exempt', 'guard', 'latch', 'record', 'spool', 'status', 'units', 'verdict']
  .filter((name) => existsSync(`${REPO}deploy/lib/${name}.sh`))
  .map((name) => deploy(`lib/${name}.sh`))
  .join('\n');

describe('contract/names.json', () => {
  it('is what contract/README.md section 4 says: every name appears there', () => {
    const readme = readFileSync(`${REPO}contract/README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## 4. Names'), readme.indexOf('## 5.'));
    const names = [
      NAMES.journal_tag,
      NAMES.exporter.listen,
      NAMES.exporter.webhook_path,
      NAMES.redis_key,
      ...Object.keys(NAMES.units),
      NAMES.spool_mount.unit,
      NAMES.drop_ins.latch,
      NAMES.drop_ins.exemption,
      NAMES.exemption_timer_prefix,
      ...Object.values(P),
    ];
    expect(names.filter((name) => !section.includes(name))).toEqual([]);
  });

  it('the exporter: listen address, port, webhook path, configuration files, runtime directory, switch units', () => {
    expect(DEFAULT_LISTEN).toBe(NAMES.exporter.listen);
    expect(NAMES.exporter.listen.endsWith(`:${NAMES.exporter.port}`)).toBe(true);
    expect(WEBHOOK_PATH).toBe(NAMES.exporter.webhook_path);
    expect(DEFAULT_ESS_CONFIG_FILE).toBe(P.ess_conf);
    expect(DEFAULT_EXPORTER_CONFIG_FILE).toBe(P.exporter_config);
    expect(DEFAULT_RUNTIME_DIR).toBe(P.runtime_dir);
    expect([...SWITCH_UNITS]).toEqual(NAMES.switch_units);
    expect([...SWITCH]).toEqual(NAMES.switch_units);
    const example = JSON.parse(deploy('ess-exporter.json')) as { listen: string; ess_config_file: string; webhook_token_file: string };
    expect(example.listen).toBe(NAMES.exporter.listen);
    expect(example.ess_config_file).toBe(P.ess_conf);
    expect(example.webhook_token_file).toBe(P.webhook_token);
  });

  it('ess.conf defaults: the exporter, deploy/ess.conf and the controller agree on the paths', async () => {
    const defaults = {
      FLAG_FILE: P.flag_file,
      LOCK_FILE: P.lock_file,
      STATE_DIR: P.state_dir,
      AUDIT_FILE: P.audit_file,
      SPOOL_DIR: P.spool_dir,
    };
    for (const [key, value] of Object.entries(defaults)) expect(ESS_CONF_DEFAULTS[key as keyof typeof defaults], key).toBe(value);
    expect(parseEssConf(deploy('ess.conf'), 'deploy/ess.conf').values).toMatchObject(defaults);
    const dir = await mkdtemp(join(tmpdir(), 'ess-contract-names-'));
    try {
      await writeFile(join(dir, 'empty.conf'), '');
      const result = await runBash('deploy/ess_controller.sh', ['check-config', join(dir, 'empty.conf')]);
      expect(result.exitCode, transcript(result)).toBe(0);
      const printed = Object.fromEntries(result.stdout.split('\n').filter(Boolean).map((line) => line.split(/=(.*)/s).slice(0, 2)));
      expect(printed).toMatchObject(defaults);
      // the one list of units the tests use is the documented default, on both sides
      expect(printed.TRADING_UNITS).toBe(TRADING.join(' '));
      expect(printed.MONITOR_UNITS).toBe(MONITOR.join(' '));
      expect(printed.START_ORDER).toBe(START_ORDER.join(' '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the units of the tests (sandbox/units.ts) are the defaults of deploy/ess.conf and of the exporter', () => {
    for (const conf of [deploy('ess.conf'), Object.entries(ESS_CONF_DEFAULTS).map(([k, v]) => `${k}="${v}"`).join('\n')]) {
      const parsed = parseEssConf(conf, 'defaults');
      expect(parsed.tradingUnits).toEqual([...TRADING]);
      expect(parsed.monitorUnits).toEqual([...MONITOR]);
      expect(parsed.startOrder).toEqual([...START_ORDER]);
    }
    expect(FLAG).toBe(P.flag_file);
    expect(LATCHED).toBe(P.persisted_latch);
    expect(P.persisted_latch).toBe(`${P.state_dir}/latched`);
    expect(P.state_file).toBe(`${P.state_dir}/state.json`);
    expect(P.drill_file).toBe(`${P.state_dir}/drill.json`);
    expect(P.quarantine_dir).toBe(`${P.state_dir}/quarantine`);
    expect(P.installed_units).toBe(`${P.lib_dir}/units`);
    for (const marker of ['persist_failed_marker', 'resume_pending_marker', 'drill_marker', 'exemption_dir', 'lock_file']) {
      expect(P[marker]?.startsWith(`${P.runtime_dir}/`), marker).toBe(true);
    }
  });

  it('deploy/: a unit file for every unit, the drop-ins, the journal tag, the account, the installed paths', () => {
    for (const unit of Object.keys(NAMES.units)) expect(existsSync(`${REPO}deploy/systemd/${unit}`), unit).toBe(true);
    expect(existsSync(`${REPO}deploy/systemd/${NAMES.spool_mount.template}`)).toBe(true);
    const install = deploy('install.sh');
    for (const value of [P.lib_dir, P.exporter_config, P.webhook_token]) {
      expect(install, value).toContain(value);
    }
    // the links: one directory (from a checkout; the Debian package's layout file moves it to /usr/sbin)
    const sbin = P.controller!.slice(0, P.controller!.lastIndexOf('/'));
    expect(P.drill!.startsWith(`${sbin}/`)).toBe(true);
    expect(install).toContain(`SBIN_DIR=${sbin} `);
    expect(install).toContain(`SBIN_LINK=$SBIN_DIR/${P.controller!.slice(sbin.length + 1)}\n`);
    expect(install).toContain(`PROOF_LINK=$SBIN_DIR/${P.drill!.slice(sbin.length + 1)}\n`);
    // the latch drop-in's name: config.sh, which install.sh and the controller share
    expect(deployLib).toContain(`ESS_DROPIN_NAME=${NAMES.drop_ins.latch}`);
    expect(install).toContain('DROPIN_NAME=$ESS_DROPIN_NAME');
    expect(install).toMatch(/EXPORTER_DIR=\$LIBEXEC-exporter/);
    expect(`${P.lib_dir}-exporter`).toBe(P.exporter_dir);
    expect(install).toMatch(/ess\.conf\.installed/);
    expect(deployLib).toMatch(new RegExp(`^readonly [A-Z_]+=${NAMES.journal_tag}$`, 'm'));
    expect(deployLib).toContain(`=${NAMES.drop_ins.exemption}`);
    expect(deployLib).toContain(NAMES.exemption_timer_prefix);
    expect(deployLib).toContain(`=${NAMES.redis_key}`);
    expect(deployLib).toMatch(new RegExp(`=${P.runtime_dir}$`, 'm'));
    const sysusers = deploy('systemd/quantum-ess.sysusers');
    expect(sysusers).toMatch(new RegExp(`^g ${NAMES.account.group} `, 'm'));
    expect(sysusers).toMatch(new RegExp(`^u ${NAMES.account.user} `, 'm'));
    expect(deploy('systemd/quantum-ess-exporter.service')).toMatch(new RegExp(`^User=${NAMES.account.user}$`, 'm'));
  });

  it('a stale watchdog check: one bound for the exporter and the controller', () => {
    expect(WATCHDOG_CHECK_STALE_SEC).toBe(NAMES.watchdog_check_stale_sec);
    expect(deploy('lib/watchdog.sh')).toMatch(new RegExp(`^readonly WD_CHECK_STALE_SEC=${NAMES.watchdog_check_stale_sec}$`, 'm'));
  });

  it('trip requests: the exporter writes what contract/README.md section 6 says the controller reads', () => {
    const name = tripRequestName('a1b2:c3/../d4', 1795656428123);
    expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/);
    expect(name.startsWith('1795656428123-a1b2c3d4-')).toBe(true);
    const content = tripRequestContent(`disk \u00e9 full\n${'x'.repeat(500)}\rsource=cli`, `host:${'h'.repeat(63)}`);
    const lines = content.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('source=alertmanager');
    expect(lines[1]).toBe(`scope=host:${'h'.repeat(63)}`);
    expect(lines[2]).toMatch(new RegExp(`^reason=[ -~]{0,${MAX_REASON_LENGTH}}$`));
    expect(lines[3]).toBe('');
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
  });
});
