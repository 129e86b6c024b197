import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sample } from '../helpers.js';
import { type CertPair, makeCert, makeExpiredCert } from '../tls-certs.js';
import { samplePayload } from './fixtures.js';
import { startWebhookHarness, tlsTestState, TOKEN, type WebhookHarness } from './webhook-harness.js';

const t = tlsTestState();

const fingerprint = async (file: string): Promise<string> => new X509Certificate(await readFile(file)).fingerprint256;

/** The exporter over HTTPS with a pair in its directory; a change is reloaded 100 ms after the last event. */
async function startHttps(): Promise<{ h: WebhookHarness; live: CertPair; dir: string }> {
  // the pair has to exist before the t.harness loads the config
  const dir = await mkdtemp(join(tmpdir(), 'ess-tls-'));
  t.certDir = dir;
  const first = await makeCert(dir, 'first');
  const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };
  await copyFile(first.certFile, live.certFile);
  await copyFile(first.keyFile, live.keyFile);
  t.harness = await startWebhookHarness({
    config: { tls_cert_file: live.certFile, tls_key_file: live.keyFile },
    tlsReload: { settleMs: 100 },
  });
  return { h: t.harness, live, dir };
}

/** Replaces a file the way certbot and most tools do: a new file renamed over the old one. */
async function replace(from: string, to: string): Promise<void> {
  await copyFile(from, `${to}.new`);
  await rename(`${to}.new`, to);
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const reloads = async (h: WebhookHarness, result: 'ok' | 'error'): Promise<number | undefined> =>
  sample(await h.metrics(), `ess_webhook_tls_reload_total{result="${result}"}`);

describe('the webhook over HTTPS', () => {
  it('trips on an HTTPS POST with the token, and refuses one without', async () => {
    const { h, live } = await startHttps();
    expect(h.server.protocol).toBe('https');
    const res = await h.post(samplePayload('Breach', 'f1'));
    expect(res.status).toBe(200);
    expect(res.certificate).toBe(await fingerprint(live.certFile));
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
    expect((await h.post(samplePayload('Breach', 'f2'), { headers: { 'content-type': 'application/json' } })).status).toBe(401);
    expect(await h.spoolEntries('incoming')).toHaveLength(1);
  });

  it('verifies against its certificate as a CA (what Alertmanager tls_config.ca_file does)', async () => {
    const { h, live } = await startHttps();
    const body = JSON.stringify(samplePayload('Breach', 'f1'));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: h.server.address.port,
          path: '/alertmanager',
          method: 'POST',
          ca: [readFileSync(live.certFile, 'utf8')],
          agent: false,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
  });

  it('does not speak plain HTTP on the TLS port', async () => {
    const { h } = await startHttps();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.server.address.port, path: '/alertmanager', method: 'POST', agent: false, timeout: 5_000 }, (res) =>
        resolve(`answered ${res.statusCode}`),
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      req.end(JSON.stringify(samplePayload('Breach', 'f1')));
    });
    expect(outcome).toMatch(/^error /);
    expect(await h.spoolEntries('incoming')).toEqual([]);
  });

  it('picks up a renewed pair on the next connection while a request in progress completes', async () => {
    const { h, live, dir } = await startHttps();
    const old = await fingerprint(live.certFile);
    const second = await makeCert(dir, 'second');

    // a delivery whose body is still on its way when the certificate changes
    const body = Buffer.from(JSON.stringify(samplePayload('Breach', 'slow')));
    const inFlight = new Promise<{ status: number; certificate: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: h.server.address.port,
          path: '/alertmanager',
          method: 'POST',
          agent: false,
          rejectUnauthorized: false,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': String(body.length) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, certificate: (res.socket as TLSSocket).getPeerCertificate().fingerprint256 }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      void (async () => {
        await replace(second.keyFile, live.keyFile);
        await replace(second.certFile, live.certFile);
        await until(async () => (await reloads(h, 'ok')) === 1, 'the reload');
        req.end(body.subarray(10));
      })().catch(reject);
    });
    const res = await inFlight;
    expect(res).toEqual({ status: 200, certificate: old });
    expect(await h.spoolEntries('incoming')).toHaveLength(1);

    const next = await h.post(samplePayload('Breach', 'after'));
    expect(next.status).toBe(200);
    expect(next.certificate).toBe(await fingerprint(second.certFile));
    expect(next.certificate).not.toBe(old);
    expect(h.logs.some((line) => line.startsWith(`tls: certificate reloaded (files changed): ${next.certificate}`))).toBe(true);
    expect(await reloads(h, 'error')).toBe(0);
  });

  it('follows a renewal that switches symbolic links: certbot live/ names, Kubernetes ..data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ess-tls-'));
    t.certDir = dir;
    const first = await makeCert(dir, 'first');
    const second = await makeCert(dir, 'second');
    const third = await makeCert(dir, 'third');
    // certbot: live/cert.pem -> ../archive/cert1.pem; a renewal adds cert2.pem and switches the links by
    // renaming new links over them, the old files stay
    await mkdir(join(dir, 'archive'));
    await mkdir(join(dir, 'live'));
    const archive = async (n: number, pair: CertPair): Promise<void> => {
      await copyFile(pair.certFile, join(dir, 'archive', `cert${n}.pem`));
      await copyFile(pair.keyFile, join(dir, 'archive', `privkey${n}.pem`));
    };
    const switchLink = async (target: string, link: string): Promise<void> => {
      await symlink(target, `${link}.new`);
      await rename(`${link}.new`, link);
    };
    await archive(1, first);
    await symlink('../archive/cert1.pem', join(dir, 'live', 'cert.pem'));
    await symlink('../archive/privkey1.pem', join(dir, 'live', 'privkey.pem'));
    t.harness = await startWebhookHarness({
      config: { tls_cert_file: join(dir, 'live', 'cert.pem'), tls_key_file: join(dir, 'live', 'privkey.pem') },
      tlsReload: { settleMs: 100 },
    });
    const h = t.harness;
    expect((await h.post(samplePayload('Breach', 'f1'))).certificate).toBe(await fingerprint(first.certFile));
    await archive(2, second);
    await switchLink('../archive/privkey2.pem', join(dir, 'live', 'privkey.pem'));
    await switchLink('../archive/cert2.pem', join(dir, 'live', 'cert.pem'));
    await until(async () => (await reloads(h, 'ok')) === 1, 'the certbot renewal');
    expect((await h.post(samplePayload('Breach', 'f2'))).certificate).toBe(await fingerprint(second.certFile));
    await h.close();
    t.harness = undefined;

    // Kubernetes: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>; an update writes a new timestamped
    // directory and renames a new ..data over the old one. The old directory is left here (the kubelet
    // removes it afterwards): the switch of ..data alone must be seen.
    const mount = join(dir, 'secret');
    const version = async (name: string, pair: CertPair): Promise<void> => {
      await mkdir(join(mount, name), { recursive: true });
      await copyFile(pair.certFile, join(mount, name, 'tls.crt'));
      await copyFile(pair.keyFile, join(mount, name, 'tls.key'));
    };
    await version('..2026_01', second);
    await symlink('..2026_01', join(mount, '..data'));
    await symlink('..data/tls.crt', join(mount, 'tls.crt'));
    await symlink('..data/tls.key', join(mount, 'tls.key'));
    t.harness = await startWebhookHarness({
      config: { tls_cert_file: join(mount, 'tls.crt'), tls_key_file: join(mount, 'tls.key') },
      tlsReload: { settleMs: 100 },
    });
    const k = t.harness;
    expect((await k.post(samplePayload('Breach', 'k1'))).certificate).toBe(await fingerprint(second.certFile));
    await version('..2026_02', third);
    await switchLink('..2026_02', join(mount, '..data'));
    await until(async () => (await reloads(k, 'ok')) === 1, 'the ..data switch');
    expect((await k.post(samplePayload('Breach', 'k2'))).certificate).toBe(await fingerprint(third.certFile));
    expect(await reloads(k, 'error')).toBe(0);
  });

  it('follows the directory of the pair replaced by another one, and renewals in the new one', async () => {
    const { h, live, dir } = await startHttps();
    const second = await makeCert(dir, 'second');
    const third = await makeCert(dir, 'third');
    // the pair lives in dir itself: a new directory with the same names takes its place
    const next = `${dir}.next`;
    await mkdir(next);
    await copyFile(second.certFile, join(next, 'live.crt'));
    await copyFile(second.keyFile, join(next, 'live.key'));
    await rename(dir, `${dir}.old`);
    t.certDir = `${dir}.old`;
    await rename(next, dir);
    await until(async () => (await reloads(h, 'ok')) === 1, 'the reload from the new directory');
    const moved = (file: string): string => file.replace(dir, `${dir}.old`);
    expect((await h.post(samplePayload('Breach', 'd1'))).certificate).toBe(await fingerprint(moved(second.certFile)));
    await replace(moved(third.keyFile), live.keyFile);
    await replace(moved(third.certFile), live.certFile);
    await until(async () => (await reloads(h, 'ok')) === 2, 'the renewal in the new directory');
    expect((await h.post(samplePayload('Breach', 'd2'))).certificate).toBe(await fingerprint(moved(third.certFile)));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the old pair when the new one is broken, logging and counting it, and takes a good one later', async () => {
    const { h, live, dir } = await startHttps();
    const old = await fingerprint(live.certFile);
    const other = await makeCert(dir, 'other');
    // a half-done renewal: the new certificate with the old key
    await replace(other.certFile, live.certFile);
    await until(async () => (await reloads(h, 'error')) === 1, 'the failed reload');
    expect(h.logs.some((line) => line.startsWith(`tls: ERROR reloading the certificate (files changed) failed, still serving ${old}:`))).toBe(true);
    const during = await h.post(samplePayload('Breach', 'f1'));
    expect(during.status).toBe(200);
    expect(during.certificate).toBe(old);

    // a file that is not PEM at all is refused the same way (SIGHUP path)
    await replace(join(dir, 'other.key'), live.certFile);
    await h.server.reloadWeb('SIGHUP');
    expect(await reloads(h, 'error')).toBeGreaterThanOrEqual(2);
    expect((await h.post(samplePayload('Breach', 'f2'))).certificate).toBe(old);

    // a FIFO, a device or a file far too large in place of the certificate: refused at once, unread
    // (a FIFO must not hang this reload and every one queued behind it)
    // The file watcher reloads too while these files change (counted, and refused the same way), so
    // the SIGHUP reloads are told apart by their log lines.
    const errors = (await reloads(h, 'error')) ?? 0;
    const logged = h.logs.length;
    const sighupFailures = (): string[] =>
      h.logs.slice(logged).filter((line) => line.startsWith('tls: ERROR reloading the certificate (SIGHUP) failed'));
    await rm(live.certFile);
    execFileSync('mkfifo', [live.certFile]);
    await h.server.reloadWeb('SIGHUP');
    await rm(live.certFile);
    await symlink('/dev/zero', live.certFile);
    await h.server.reloadWeb('SIGHUP');
    await rm(live.certFile);
    await writeFile(live.certFile, Buffer.alloc(3 * 1024 * 1024, 0x41));
    await h.server.reloadWeb('SIGHUP');
    expect(sighupFailures()).toHaveLength(3);
    expect(await reloads(h, 'error')).toBeGreaterThanOrEqual(errors + 3);
    expect(sighupFailures().filter((line) => line.includes(`${live.certFile} is not a regular file`))).toHaveLength(2);
    expect(sighupFailures().some((line) => line.includes(`${live.certFile} is larger than 1048576 bytes`))).toBe(true);
    expect((await h.post(samplePayload('Breach', 'f2b'))).certificate).toBe(old);

    // the renewal completes: both files now match
    await replace(other.certFile, live.certFile);
    await replace(other.keyFile, live.keyFile);
    await h.server.reloadWeb('SIGHUP');
    expect((await h.post(samplePayload('Breach', 'f3'))).certificate).toBe(await fingerprint(other.certFile));
  });

  it('shows when the certificate in use expires, and refuses a reload to an expired one while it is valid', async () => {
    const { h, live, dir } = await startHttps();
    const old = await fingerprint(live.certFile);
    const notAfter = Date.parse(new X509Certificate(await readFile(live.certFile)).validTo) / 1000;
    expect(sample(await h.metrics(), 'ess_webhook_tls_cert_not_after_timestamp_seconds')).toBe(notAfter);

    // an old backup restored over a working pair: Alertmanager would refuse every delivery
    const expired = await makeExpiredCert(dir, 'expired');
    await replace(expired.keyFile, live.keyFile);
    await replace(expired.certFile, live.certFile);
    await h.server.reloadWeb('SIGHUP');
    expect(await reloads(h, 'error')).toBeGreaterThanOrEqual(1);
    expect(h.logs.some((line) => line.includes('the new certificate is valid from 2020-01-01T00:00:00.000Z to 2020-01-02T00:00:00.000Z, not now'))).toBe(true);
    const during = await h.post(samplePayload('Breach', 'f1'));
    expect(during).toMatchObject({ status: 200, certificate: old });
    expect(sample(await h.metrics(), 'ess_webhook_tls_cert_not_after_timestamp_seconds')).toBe(notAfter);

    // a valid renewal is taken, and the gauge follows it
    const renewed = await makeCert(dir, 'renewed');
    await replace(renewed.keyFile, live.keyFile);
    await replace(renewed.certFile, live.certFile);
    await h.server.reloadWeb('SIGHUP');
    expect((await h.post(samplePayload('Breach', 'f2'))).certificate).toBe(await fingerprint(renewed.certFile));
    const renewedNotAfter = Date.parse(new X509Certificate(await readFile(renewed.certFile)).validTo) / 1000;
    expect(sample(await h.metrics(), 'ess_webhook_tls_cert_not_after_timestamp_seconds')).toBe(renewedNotAfter);
  });

  it('starts with an expired certificate (nothing better at hand) but says so, and shows its expiry', async () => {
    t.certDir = await mkdtemp(join(tmpdir(), 'ess-tls-'));
    const expired = await makeExpiredCert(t.certDir, 'expired');
    t.harness = await startWebhookHarness({ config: { tls_cert_file: expired.certFile, tls_key_file: expired.keyFile } });
    expect(t.harness.logs.some((line) => line.startsWith(`tls: ERROR ${expired.certFile} is not valid now`))).toBe(true);
    expect(sample(await t.harness.metrics(), 'ess_webhook_tls_cert_not_after_timestamp_seconds')).toBe(Date.parse('2020-01-02T00:00:00Z') / 1000);
  });

  it('has no certificate expiry series over plain HTTP', async () => {
    t.harness = await startWebhookHarness();
    expect(sample(await t.harness.metrics(), 'ess_webhook_tls_cert_not_after_timestamp_seconds')).toBeUndefined();
  });
});
