import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { PemSource, WebTls } from '../config/web-config.js';
import { FileTooLargeError, NotRegularFileError, readBoundedBytes } from '../io/read-bounded.js';

/** A certificate chain and its key, read and checked together, and the client CAs. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The certificates that verify a client's (client_ca_file); null: the system's roots. */
  readonly ca: readonly string[] | null;
  /** For log lines: which certificate is in use. */
  readonly fingerprint256: string;
  readonly validTo: string;
  /** The certificate's validity, in ms since the epoch (notBefore, notAfter). */
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly context: SecureContext;
}

/** Whether the certificate is within its validity at nowMs (a client refuses it otherwise). */
export function tlsPairValidAt(pair: Pick<TlsPair, 'notBeforeMs' | 'notAfterMs'>, nowMs: number): boolean {
  return pair.notBeforeMs <= nowMs && nowMs <= pair.notAfterMs;
}

/** Which file was wrong and why; the caller turns it into a ConfigError or a logged reload failure. */
export class TlsPairError extends Error {
  override name = 'TlsPairError';

  constructor(
    /** The key of the config that names it (tls_server_config.cert_file, tls_cert_file). */
    readonly which: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** PEM of a long chain is a few kB; anything much larger is not a certificate file. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Reads the pair and the client CAs, and accepts them only when the certificate parses, the key parses
 * and belongs to it, and every CA parses: a half-written renewal (new certificate, old key) must never
 * replace a working pair.
 */
export async function loadTlsPair(tls: WebTls): Promise<TlsPair> {
  const cert = await readPem(tls.cert);
  const key = await readPem(tls.key);
  const ca = tls.clientCa === null ? null : certificatesOf(await readPem(tls.clientCa), tls.clientCa);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new TlsPairError(tls.cert.key, `${where(tls.cert)} holds no PEM certificate (${(error as Error).message})`, { cause: error });
  }
  let context: SecureContext;
  try {
    // also parses the key (and its passphrase-less PEM) and checks that it matches the certificate
    context = createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsPairError(
      tls.key.key,
      `${where(tls.key)} is not an unencrypted PEM private key matching ${where(tls.cert)} (${(error as Error).message})`,
      { cause: error },
    );
  }
  return {
    cert,
    key,
    ca,
    fingerprint256: x509.fingerprint256,
    validTo: x509.validTo,
    notBeforeMs: Date.parse(x509.validFrom),
    notAfterMs: Date.parse(x509.validTo),
    context,
  };
}

/** What node:tls is given for this configuration and pair (createServer, setSecureContext). */
export function secureContextOptions(tls: WebTls, pair: TlsPair): SecureContextOptions {
  return {
    cert: pair.cert,
    key: pair.key,
    ...(pair.ca !== null && { ca: [...pair.ca] }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    honorCipherOrder: tls.honorCipherOrder,
    ...(tls.ciphers !== null && { ciphers: tls.ciphers }),
    ...(tls.ecdhCurve !== null && { ecdhCurve: tls.ecdhCurve }),
  };
}

function where(source: PemSource): string {
  return 'file' in source ? source.file : `${source.key} (inline)`;
}

/** Each certificate of a PEM bundle; none, or one that does not parse, is refused (no client could ever verify). */
function certificatesOf(bundle: Buffer, source: PemSource): string[] {
  const pems = bundle.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new TlsPairError(source.key, `${where(source)} holds no PEM certificate`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new TlsPairError(source.key, `${where(source)} holds a certificate that does not parse (${(error as Error).message})`, { cause: error });
    }
  }
  return pems;
}

/** The PEM's bytes: inline, or the file's (readBoundedBytes: regular files only, at most MAX_PEM_BYTES), or why not. */
async function readPem(source: PemSource): Promise<Buffer> {
  if ('pem' in source) return Buffer.from(source.pem, 'utf8');
  const { file, key: which } = source;
  let bytes: Buffer;
  try {
    bytes = await readBoundedBytes(file, MAX_PEM_BYTES);
  } catch (error) {
    const hint =
      (error as NodeJS.ErrnoException).code === 'EACCES'
        ? ' (the exporter runs as user quantum-ess: make the file readable by it, or pass it with LoadCredential=)'
        : '';
    if (error instanceof FileTooLargeError) throw new TlsPairError(which, `${file} is larger than ${MAX_PEM_BYTES} bytes`, { cause: error });
    if (error instanceof NotRegularFileError) throw new TlsPairError(which, `${file} is not a regular file`, { cause: error });
    throw new TlsPairError(which, `${file} cannot be read (${(error as Error).message})${hint}`, { cause: error });
  }
  if (bytes.length === 0) throw new TlsPairError(which, `${file} is empty`);
  return bytes;
}
