import type { SecureVersion } from 'node:tls';
import type { Section } from './web-config-section.js';

/** Go's crypto/tls client authentication policies, as exporter-toolkit names them. */
export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

/** PEM read from a file or given inline; key names it in messages (tls_server_config.cert_file). */
export type PemSource = { readonly key: string; readonly file: string } | { readonly key: string; readonly pem: string };

/** tls_server_config, checked and translated to what node:tls takes. */
export interface WebTls {
  readonly cert: PemSource;
  readonly key: PemSource;
  readonly clientAuth: ClientAuthType;
  /** Verifies client certificates; null: the system's roots, as in Go. */
  readonly clientCa: PemSource | null;
  /** A client certificate must carry one of these SANs; null: any. */
  readonly clientAllowedSans: readonly string[] | null;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL's names of the TLS 1.2 suites; null: Node's defaults. */
  readonly ciphers: string | null;
  readonly honorCipherOrder: boolean;
  /** OpenSSL's names of the curves, in preference order; null: Node's defaults. */
  readonly ecdhCurve: string | null;
}

const CLIENT_AUTH: Readonly<Record<string, ClientAuthType>> = {
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  // exporter-toolkit still reads this older name
  RequireClientCert: 'RequireAnyClientCert',
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};

const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/**
 * Go's names of the suites crypto/tls offers (tls.CipherSuites()) and OpenSSL's. The TLS 1.3 suites
 * are accepted and, as in Go, not configurable: null.
 */
const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

function pemSource(section: Section, fileKey: string, inlineKey: string): PemSource | undefined {
  const file = section.filePath(fileKey);
  const pem = section.string(inlineKey);
  if (file !== undefined && pem !== undefined) throw section.error(fileKey, `set with ${section.key(inlineKey)}: give one of them`);
  if (file !== undefined) return { key: section.key(fileKey), file };
  return pem === undefined ? undefined : { key: section.key(inlineKey), pem };
}

function oneOf<T>(section: Section, name: string, table: Readonly<Record<string, T>>, fallback: string): T {
  const value = section.string(name) ?? fallback;
  if (!Object.hasOwn(table, value)) throw section.error(name, `${JSON.stringify(value)} is not one of ${Object.keys(table).join(', ')}`);
  return table[value] as T;
}

function listOf(section: Section, name: string, table: Readonly<Record<string, string | null>>): string | null {
  const names = section.strings(name);
  if (names === undefined || names.length === 0) return null;
  const unknown = names.find((item) => !Object.hasOwn(table, item));
  if (unknown !== undefined) throw section.error(name, `unknown ${JSON.stringify(unknown)} (known: ${Object.keys(table).join(', ')})`);
  const mapped = names.map((item) => table[item]).filter((item): item is string => typeof item === 'string');
  return mapped.length === 0 ? null : mapped.join(':');
}

/**
 * tls_server_config; null when nothing in it is set (plain HTTP), as exporter-toolkit decides. The
 * combinations it refuses are refused here: a certificate without a key, client CAs without a client
 * authentication policy, SANs to match where a client may send no certificate.
 */
export function parseTlsServerConfig(section: Section): WebTls | null {
  const cert = pemSource(section, 'cert_file', 'cert');
  const key = pemSource(section, 'key_file', 'key');
  const clientCa = pemSource(section, 'client_ca_file', 'client_ca') ?? null;
  const clientAuth = oneOf(section, 'client_auth_type', CLIENT_AUTH, 'NoClientCert');
  if (cert === undefined && key === undefined && clientCa === null && section.string('client_auth_type') === undefined) return null;
  if (cert === undefined) throw section.error('cert_file', 'required: missing one of cert or cert_file');
  if (key === undefined) throw section.error('key_file', 'required: missing one of key or key_file');
  if (clientCa !== null && clientAuth === 'NoClientCert') {
    throw section.error('client_auth_type', 'client CAs are configured without a client authentication policy (use RequireAndVerifyClientCert)');
  }
  const clientAllowedSans = section.strings('client_allowed_sans') ?? null;
  if (clientAllowedSans !== null && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    throw section.error('client_allowed_sans', 'requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }
  const minVersion = oneOf(section, 'min_version', TLS_VERSIONS, 'TLS12');
  const maxVersion = oneOf(section, 'max_version', TLS_VERSIONS, 'TLS13');
  if (minVersion > maxVersion) throw section.error('min_version', `is above max_version`);
  return {
    cert,
    key,
    clientAuth,
    clientCa,
    clientAllowedSans,
    minVersion,
    maxVersion,
    ciphers: listOf(section, 'cipher_suites', CIPHER_SUITES),
    honorCipherOrder: section.boolean('prefer_server_cipher_suites', true),
    ecdhCurve: listOf(section, 'curve_preferences', CURVES),
  };
}
