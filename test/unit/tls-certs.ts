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
