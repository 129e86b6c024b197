import { createSecureContext, type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { TlsFiles } from '../config/exporter-config.js';
import { FileTooLargeError, NotRegularFileError, readBoundedBytes } from '../io/read-bounded.js';

/** A certificate chain and its key, read and checked together. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
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
    readonly which: 'tls_cert_file' | 'tls_key_file',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** PEM of a long chain is a few kB; anything much larger is not a certificate file. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Reads both files and accepts them only when the certificate parses, the key parses and belongs to
 * it: a half-written renewal (new certificate, old key) must never replace a working pair.
 */
export async function loadTlsPair(files: TlsFiles): Promise<TlsPair> {
  const cert = await readPem(files.certFile, 'tls_cert_file');
  const key = await readPem(files.keyFile, 'tls_key_file');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new TlsPairError('tls_cert_file', `${files.certFile} holds no PEM certificate (${(error as Error).message})`, { cause: error });
  }
  let context: SecureContext;
  try {
    // also parses the key (and its passphrase-less PEM) and checks that it matches the certificate
    context = createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsPairError(
      'tls_key_file',
      `${files.keyFile} is not an unencrypted PEM private key matching ${files.certFile} (${(error as Error).message})`,
      { cause: error },
    );
  }
  return {
    cert,
    key,
    fingerprint256: x509.fingerprint256,
    validTo: x509.validTo,
    notBeforeMs: Date.parse(x509.validFrom),
    notAfterMs: Date.parse(x509.validTo),
    context,
  };
}

/** The file's bytes (readBoundedBytes: regular files only, at most MAX_PEM_BYTES), or why not. */
async function readPem(file: string, which: TlsPairError['which']): Promise<Buffer> {
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
