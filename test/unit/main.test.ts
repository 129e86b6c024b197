import { writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCli, UsageError } from '../../src/cli.js';
import { makeLog } from '../../src/io/log.js';
import { createFakeHost, type FakeHost } from './helpers.js';
import { makeCert } from './tls-certs.js';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
const run = (args: string[]) => execa('node', ['--import', 'tsx', MAIN, ...args], { reject: false, timeout: 20_000 });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

describe('command line', () => {
  it('parses options', () => {
    expect(parseCli(['--config.file', '/x.json', '--web.listen-address', '[::1]:1'])).toEqual({
      kind: 'run',
      configFile: '/x.json',
      configFileGiven: true,
      listen: '[::1]:1',
      systemdSocket: false,
      logLevel: 'info',
      deprecations: [],
    });
    expect(parseCli(['--log.level', 'warn', '--log.format=json'])).toMatchObject({ logLevel: 'warn', logFormat: 'json' });
    expect(() => parseCli(['--log.format', 'text'])).toThrow(/--log\.format: 'text' is not one of logfmt, json/);
    expect(() => parseCli(['--log.level', 'debug'])).toThrow(UsageError);
    expect(parseCli(['--systemd-socket'])).toMatchObject({ kind: 'run', systemdSocket: true });
    expect(parseCli([])).toMatchObject({ kind: 'run', configFile: '/etc/quantum/ess-exporter.json', configFileGiven: false });
    expect(parseCli(['--check-config', '--ess-config', '/e'])).toMatchObject({ kind: 'check-config', essConfigFile: '/e' });
    expect(parseCli(['--web.config.file', '/w.yml'])).toMatchObject({ kind: 'run', webConfigFile: '/w.yml' });
    expect(parseCli(['--web.telemetry-path=/ess/metrics'])).toMatchObject({ kind: 'run', telemetryPath: '/ess/metrics' });
    expect(() => parseCli(['--web.config.file', '/a.yml', '--web.config.file=/b.yml'])).toThrow(/--web\.config\.file given 2 times/);
    expect(parseCli(['--help'])).toEqual({ kind: 'help' });
    expect(() => parseCli(['--lsiten', 'x'])).toThrow(UsageError);
    expect(() => parseCli(['extra'])).toThrow(UsageError);
  });

  it("reads today's --config and --listen for one more release, each with a deprecation line", () => {
    expect(parseCli(['--config', '/x.json', '--listen', '[::1]:1'])).toMatchObject({
      configFile: '/x.json',
      listen: '[::1]:1',
      deprecations: [
        '--config is deprecated and will be removed in the next release: use --config.file',
        '--listen is deprecated and will be removed in the next release: use --web.listen-address',
      ],
    });
  });

  it('refuses an option given twice, and an old name beside its new one', () => {
    expect(() => parseCli(['--config.file', '/a', '--config.file', '/b'])).toThrow('--config.file given 2 times; give it once');
    expect(() => parseCli(['--web.listen-address', '127.0.0.1:1', '--web.listen-address=127.0.0.1:2'])).toThrow(UsageError);
    expect(() => parseCli(['--config', '/a', '--config.file', '/b'])).toThrow('--config and --config.file name the same setting');
  });
});

describe('makeLog', () => {
  const capture = (run: () => void): string[] => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return lines;
  };

  it("prefixes warnings and errors with journald's priority in every format", () => {
    expect(capture(() => {
      const log = makeLog();
      log('a');
      log('b', 'warning');
      log('c', 'error');
    })).toEqual(['ess-exporter: a', '<4>ess-exporter: b', '<3>ess-exporter: c']);
    expect(capture(() => makeLog({ format: 'logfmt' })('x "y" z', 'warning'))).toEqual([
      '<4>level=warn source=ess-exporter msg="x \\"y\\" z"',
    ]);
    const json = capture(() => makeLog({ format: 'json' })('started'));
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0]!)).toEqual({ level: 'info', source: 'ess-exporter', msg: 'started' });
  });

  it('--log.level drops what is below it', () => {
    expect(capture(() => {
      const log = makeLog({ level: 'warn' });
      log('info');
      log('warned', 'warning');
      log('failed', 'error');
    })).toEqual(['<4>ess-exporter: warned', '<3>ess-exporter: failed']);
    expect(capture(() => {
      const log = makeLog({ level: 'error' });
      log('warned', 'warning');
      log('failed', 'error');
    })).toEqual(['<3>ess-exporter: failed']);
  });
});

describe('main', () => {
  let fakeHost: FakeHost;
  beforeEach(async () => {
    fakeHost = await createFakeHost();
  });
  afterEach(() => fakeHost.cleanup());

  it('prints usage for --help', async () => {
    const result = await run(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('--listen HOST:PORT');
  });

  it('exits 64 with usage on an unknown option', async () => {
    const result = await run(['--bogus']);
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('Usage: quantum-ess-exporter');
  });

  it('exits 78 naming the key on a bad config value', async () => {
    await fakeHost.config();
    await writeFile(fakeHost.configFile, JSON.stringify({ ess_config_file: fakeHost.essConfFile, dbus_timeout_seconds: 'soon' }));
    const result = await run(['--config', fakeHost.configFile, '--check-config']);
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain(`config error in ${fakeHost.configFile}: dbus_timeout_seconds:`);
  });

  it('exits 78 naming the web config file and key on a broken one', async () => {
    await fakeHost.config();
    const webConfig = join(fakeHost.dir, 'web-config.yml');
    for (const [text, key] of [
      ['tls_server_config: {cert_file: a', '(syntax): not valid YAML'],
      ['basic_auth_users:\n  alice: plain-password\n', 'basic_auth_users.alice: is not a bcrypt hash'],
      ['tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n', 'tls_server_config.cert_file: /nonexistent.crt cannot be read'],
      ['tls_server_config:\n  crt_file: a\n', 'tls_server_config.crt_file: unknown key'],
    ] as const) {
      await writeFile(webConfig, text);
      const result = await run(['--config.file', fakeHost.configFile, '--web.config.file', webConfig, '--check-config']);
      expect(result.exitCode).toBe(78);
      expect(result.stderr).toContain(`<3>ess-exporter: config error in ${webConfig}: ${key}`);
    }
  });

  it('validates a good config with --check-config', async () => {
    await fakeHost.config();
    const result = await run(['--config', fakeHost.configFile, '--check-config']);
    if (process.getuid?.() !== 0) {
      // the fake host's files are the test runner's: a path of the ESS must be root's alone
      expect(result.exitCode).toBe(78);
      expect(result.stderr).toMatch(/: FLAG_FILE: .* is owned by uid [0-9]+, not root/);
      return;
    }
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ listen: '127.0.0.1:0', ess: { flagFile: fakeHost.flagFile } });
  });

  it('with --systemd-socket, exits 78 when systemd passed no socket instead of binding the port', async () => {
    await fakeHost.config();
    const result = await run(['--config', fakeHost.configFile, '--systemd-socket']);
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain('systemd passed no socket (LISTEN_FDS unset): start quantum-ess-exporter.socket');
  });

  it('with --systemd-socket, serves on the socket systemd passes, and refuses one bound elsewhere', { timeout: 90_000 }, async () => {
    const port = await freePort();
    await fakeHost.config({ listen: `127.0.0.1:${port}` });
    // systemd-socket-activate binds like a socket unit and passes the socket (LISTEN_FDS) on the first connection
    const activate = (listen: string) =>
      execa('systemd-socket-activate', ['-l', listen, 'node', '--import', 'tsx', MAIN, '--config', fakeHost.configFile, '--systemd-socket'], {
        reject: false,
        timeout: 60_000,
      });
    const child = activate(`127.0.0.1:${port}`);
    await waitListening(port);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('ess_exporter_listener_systemd_socket 1');
    child.kill('SIGTERM');
    const result = await child;
    expect(result.stderr).toContain('(socket held by systemd, quantum-ess-exporter.socket)');

    const other = await freePort();
    const wrong = activate(`127.0.0.1:${other}`);
    await waitListening(other);
    await fetch(`http://127.0.0.1:${other}/metrics`).catch(() => undefined);
    const refused = await wrong;
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr).toContain(`listen: 127.0.0.1:${port}, but the socket systemd passed (quantum-ess-exporter.socket) listens on 127.0.0.1:${other}`);
  });

  it('serves and shuts down cleanly on SIGTERM', async () => {
    await fakeHost.config();
    const child = execa('node', ['--import', 'tsx', MAIN, '--config', fakeHost.configFile], { reject: false, timeout: 20_000 });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('serving http://')) resolve();
      });
      void child.then(() => reject(new Error(`exited early: ${stderr}`)));
    });
    const url = /serving (http:\/\/[^\s;]+)/.exec(stderr)?.[1] ?? '';
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('ess_active 0');
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('SIGTERM: shutting down');
  });

  it('serves HTTPS with tls_cert_file, and SIGHUP reloads the certificate without stopping', async () => {
    const pair = await makeCert(fakeHost.dir, 'main');
    await fakeHost.config({ tls_cert_file: pair.certFile, tls_key_file: pair.keyFile, host: 'h1', groups: ['exec'] });
    const child = execa('node', ['--import', 'tsx', MAIN, '--config', fakeHost.configFile], { reject: false, timeout: 20_000 });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let exited = false;
    void child.then(() => {
      exited = true;
    });
    const waitFor = async (text: string): Promise<void> => {
      while (!stderr.includes(text)) {
        if (exited) throw new Error(`exited early: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await waitFor('webhook POST /alertmanager');
    expect(stderr).toContain('serving https://');
    expect(stderr).toContain('fleet identity: host h1, groups exec; TLS certificate');
    child.kill('SIGHUP');
    await waitFor('tls: certificate reloaded (SIGHUP)');
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(0);
  });
});
