import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { DEFAULT_LISTEN, parseExporterFile, parseExporterSettings } from '../../src/config/exporter-config.js';
import { loadExporterConfig } from '../../src/load-config.js';
import { parseListenAddress } from '../../src/config/listen-address.js';
import { createFakeHost, type FakeHost } from './helpers.js';

describe('exporter config', () => {
  let fakeHost: FakeHost;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
  });
  afterEach(() => fakeHost.cleanup());

  it('loads the file, the ess.conf it names and converts seconds', async () => {
    const config = await fakeHost.config({ dbus_timeout_seconds: 1.5 });
    expect(config.dbusTimeoutMs).toBe(1500);
    expect(config.systemBusAddress).toBe(fakeHost.systemd.address);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config.ess.tradingUnits).toEqual(['quantum-ai-engine.service', 'quantum-execution.service']);
    expect(config.ess.flagFile).toBe(fakeHost.flagFile);
  });

  it('defaults to loopback on the documented port', () => {
    expect(DEFAULT_LISTEN).toBe('127.0.0.1:10170');
    expect(parseExporterSettings({}, 'f').listen).toBe(DEFAULT_LISTEN);
  });

  it('parses the listen address and compiles the trip rules once, when the file is checked', () => {
    const settings = parseExporterSettings({ listen: '[::1]:9', trip_rules: [['a="1"', 'b!="2"']] }, 'f');
    expect(settings.listenAddress).toEqual({ host: '::1', port: 9 });
    expect(settings.tripRules).toHaveLength(1);
    expect(settings.tripRules[0]?.map((matcher) => matcher.matches({ a: '1' }))).toEqual([true, true]);
  });

  it('parses the texts it is handed, reading nothing itself', () => {
    expect(parseExporterFile(undefined, 'f')).toEqual({ settings: parseExporterSettings({}, 'f'), deprecations: [] });
    const error: unknown = (() => {
      try {
        return parseExporterFile('{"listen": ', 'f');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    [{ lsiten: '127.0.0.1:1' }, 'lsiten: unknown key'],
    [{ listen: '127.0.0.1' }, "listen: '127.0.0.1' is not HOST:PORT"],
    [{ listen: '127.0.0.1:70000' }, 'listen:'],
    [{ listen: 10170 }, 'listen: 10170 is not a string HOST:PORT'],
    [{ dbus_timeout_seconds: 0 }, 'dbus_timeout_seconds:'],
    [{ dbus_timeout_seconds: '2' }, 'dbus_timeout_seconds:'],
    [{ system_bus_address: null }, 'system_bus_address: null is not a unix:path=/ABSOLUTE/SOCKET address'],
    [{ system_bus_address: 'tcp:host=x' }, 'system_bus_address:'],
    [{ constructor: 1 }, 'constructor: unknown key'],
    [{ ess_config_file: 'ess.conf' }, 'ess_config_file:'],
  ])('refuses %j naming the key', (settings, message) => {
    expect(() => parseExporterSettings(settings, '/etc/quantum/ess-exporter.json')).toThrow(
      `config error in /etc/quantum/ess-exporter.json: ${message}`,
    );
  });

  it('ignores the keys of the systemctl/busctl poll for one release, each named with what to do', async () => {
    // the file every earlier install carries: an upgrade must not stop at it
    const config = await fakeHost.config({ systemctl_path: '/usr/bin/systemctl', busctl_path: '/usr/bin/busctl', unit_state_cache_seconds: 1, systemctl_timeout_seconds: 3, dbus_timeout_seconds: undefined });
    expect(config.dbusTimeoutMs).toBe(3000);
    expect(config.deprecations).toEqual(['systemctl_path', 'busctl_path', 'unit_state_cache_seconds', 'systemctl_timeout_seconds'].map((key) =>
      expect.stringMatching(new RegExp(`^${fakeHost.configFile}: ${key} is deprecated and ignored \\(.+\\); delete it from the file$`))));
    // the new key wins over the old; the old one is still validated as the new one would be
    expect((await fakeHost.config({ systemctl_timeout_seconds: 3, dbus_timeout_seconds: 1 })).dbusTimeoutMs).toBe(1000);
    await expect(fakeHost.config({ systemctl_timeout_seconds: 0, dbus_timeout_seconds: undefined })).rejects.toThrow(/dbus_timeout_seconds: 0 is not a number of seconds/);
    expect((await fakeHost.config()).deprecations).toEqual([]);
  });

  it('refuses a file that is not a JSON object', async () => {
    await writeFile(fakeHost.configFile, '{"listen": ');
    await expect(loadExporterConfig(fakeHost.configFile, true)).rejects.toThrow(/\(syntax\): not valid JSON/);
    await writeFile(fakeHost.configFile, '[]');
    await expect(loadExporterConfig(fakeHost.configFile, true)).rejects.toThrow(/\(top level\): \[\] is not an object/);
  });

  it('requires a file named explicitly but not one at the default location', async () => {
    const missing = join(fakeHost.dir, 'missing.json');
    await expect(loadExporterConfig(missing, true)).rejects.toBeInstanceOf(ConfigError);
    const config = await loadExporterConfig(missing, false, { essConfigFile: fakeHost.essConfFile });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 10170 });
  });

  it('lets command-line values win and names the option when they are bad', async () => {
    await fakeHost.config();
    const config = await loadExporterConfig(fakeHost.configFile, true, { listen: '[::1]:9999' });
    expect(config.listen).toEqual({ host: '::1', port: 9999 });
    await expect(loadExporterConfig(fakeHost.configFile, true, { listen: 'nope' })).rejects.toThrow(
      /command line: --listen: 'nope' is not HOST:PORT/,
    );
    await expect(loadExporterConfig(fakeHost.configFile, true, { essConfigFile: join(fakeHost.dir, 'none') })).rejects.toThrow(
      /none: file: cannot be read/,
    );
  });

  it('refuses no webhook token with the dead man\'s switch on (any local user could post heartbeats), naming both keys', async () => {
    await writeFile(fakeHost.essConfFile, 'WATCHDOG_ACTION=trip\n', { flag: 'a' });
    await expect(fakeHost.config({ webhook_token_file: null })).rejects.toThrow(
      `config error in ${fakeHost.configFile}: webhook_token_file: required: WATCHDOG_ACTION=trip in ${fakeHost.essConfFile}, and without a token any local user could post heartbeats`,
    );
    await writeFile(fakeHost.essConfFile, (await readFile(fakeHost.essConfFile, 'utf8')).replace('WATCHDOG_ACTION=trip', 'WATCHDOG_ACTION=alert'));
    await expect(fakeHost.config({ webhook_token_file: null })).rejects.toThrow('required: WATCHDOG_ACTION=alert in');
    const token = join(fakeHost.dir, 'token');
    await writeFile(token, 'a-secret-token\n', { mode: 0o600 });
    expect((await fakeHost.config({ webhook_token_file: token })).webhook.tokenFile).toBe(token);
    await writeFile(fakeHost.essConfFile, (await readFile(fakeHost.essConfFile, 'utf8')).replace('WATCHDOG_ACTION=alert', 'WATCHDOG_ACTION=off'));
    expect((await fakeHost.config({ webhook_token_file: null })).webhook.tokenFile).toBeNull();
  });

  it('reports a bad ess.conf key through the exporter config', async () => {
    await writeFile(fakeHost.essConfFile, 'TRADING_UNITS="ok bad/name"\n');
    await expect(fakeHost.config()).rejects.toThrow(`config error in ${fakeHost.essConfFile}: TRADING_UNITS: 'bad/name' is not a valid unit name`);
  });
});

describe('parseListenAddress', () => {
  it('parses IPv4, host names and bracketed IPv6', () => {
    expect(parseListenAddress('0.0.0.0:10170')).toEqual({ host: '0.0.0.0', port: 10170 });
    expect(parseListenAddress('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseListenAddress('[::]:10170')).toEqual({ host: '::', port: 10170 });
    expect(parseListenAddress('::1:10170')).toMatch(/not HOST:PORT/);
  });
});
