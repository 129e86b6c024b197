import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli.js';
import { createFakeHost, type FakeHost } from './helpers.js';
import { makeCert } from './tls-certs.js';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
const run = (args: string[]) => execa('node', ['--import', 'tsx', MAIN, ...args], { reject: false, timeout: 20_000 });

describe('command line', () => {
  it('parses options', () => {
    expect(parseCli(['--config', '/x.json', '--listen', '[::1]:1'])).toEqual({
      kind: 'run',
      configFile: '/x.json',
      configFileGiven: true,
      listen: '[::1]:1',
    });
    expect(parseCli([])).toMatchObject({ kind: 'run', configFile: '/etc/quantum/ess-exporter.json', configFileGiven: false });
    expect(parseCli(['--check-config', '--ess-config', '/e'])).toMatchObject({ kind: 'check-config', essConfigFile: '/e' });
    expect(parseCli(['--help'])).toEqual({ kind: 'help' });
    expect(() => parseCli(['--lsiten', 'x'])).toThrow(UsageError);
    expect(() => parseCli(['extra'])).toThrow(UsageError);
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
    expect(result.stderr).toContain('Usage: ess-exporter');
  });

  it('exits 78 naming the key on a bad config value', async () => {
    await fakeHost.config();
    await writeFile(fakeHost.configFile, JSON.stringify({ ess_config_file: fakeHost.essConfFile, systemctl_timeout_seconds: 'soon' }));
    const result = await run(['--config', fakeHost.configFile, '--check-config']);
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain(`config error in ${fakeHost.configFile}: systemctl_timeout_seconds:`);
  });

  it('validates a good config with --check-config', async () => {
    await fakeHost.config();
    const result = await run(['--config', fakeHost.configFile, '--check-config']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ listen: '127.0.0.1:0', ess: { flagFile: fakeHost.flagFile } });
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
