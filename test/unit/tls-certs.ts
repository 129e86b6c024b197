import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throwaway self-signed certificate for 127.0.0.1 and localhost, made by openssl (P-256: fast). */
export async function makeCert(dir: string, name: string): Promise<CertPair> {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', pair.keyFile, '-out', pair.certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return pair;
}

/**
 * A self-signed certificate for 127.0.0.1 that expired in 2020: `openssl req -days` cannot go back in
 * time, `openssl ca` can set both dates.
 */
export async function makeExpiredCert(dir: string, name: string): Promise<CertPair> {
  const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const caDir = await mkdtemp(join(dir, `${name}-ca-`));
  await writeFile(join(caDir, 'index.txt'), '');
  await writeFile(join(caDir, 'serial'), '01\n');
  await writeFile(
    join(caDir, 'ca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${caDir}/index.txt\nserial=${caDir}/serial\nnew_certs_dir=${caDir}\n` +
      'default_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\n',
  );
  const env = { OPENSSL_CONF: '/dev/null' };
  await execa('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', pair.keyFile, '-out', csr, '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { env });
  await execa('openssl', [
    'ca', '-batch', '-config', join(caDir, 'ca.cnf'), '-selfsign', '-keyfile', pair.keyFile, '-in', csr,
    '-out', pair.certFile, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
  ], { env });
  return pair;
}
