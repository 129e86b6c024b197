import { hashSync } from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { goDurationMs, parseWebConfig } from '../../src/config/web-config.js';

const FILE = '/etc/quantum/web-config.yml';
/** htpasswd -nBC 10 writes $2y$; bcryptjs writes $2b$, the same algorithm. */
const HASH = hashSync('s3cret', 4).replace(/^\$2b\$/, '$2y$');

/**
 * A web config written from exporter-toolkit's documentation (docs/web-configuration.md), every key of
 * tls_server_config and http_server_config used, as a node_exporter host would have it.
 */
const DOCUMENTED = `
tls_server_config:
  cert_file: server.crt
  key_file: /etc/ssl/private/server.key
  client_auth_type: "RequireAndVerifyClientCert"
  client_ca_file: "ca/clients.pem"
  client_allowed_sans: ["prometheus.example.org"]
  min_version: "TLS12"
  max_version: "TLS13"
  cipher_suites:
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    - TLS_AES_128_GCM_SHA256
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: ""
basic_auth_users:
  prometheus: ${HASH}
  "1234": '${HASH}'
rate_limit:
  interval: 100ms
  burst: 5
`;

describe('--web.config.file (exporter-toolkit format)', () => {
  it('reads a file written from exporter-toolkit documentation, paths relative to its directory', async () => {
    const web = await parseWebConfig(DOCUMENTED, FILE);
    expect(web.tls).toEqual({
      cert: { key: 'tls_server_config.cert_file', file: '/etc/quantum/server.crt' },
      key: { key: 'tls_server_config.key_file', file: '/etc/ssl/private/server.key' },
      clientAuth: 'RequireAndVerifyClientCert',
      clientCa: { key: 'tls_server_config.client_ca_file', file: '/etc/quantum/ca/clients.pem' },
      clientAllowedSans: ['prometheus.example.org'],
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      // TLS 1.3 suites are not configurable, in Go as here
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
      honorCipherOrder: false,
      ecdhCurve: 'X25519:P-256',
    });
    expect([...web.basicAuthUsers.keys()]).toEqual(['1234', 'prometheus']);
    expect(web.headers).toEqual({ 'X-Frame-Options': 'deny', 'X-Content-Type-Options': 'nosniff' });
    expect(web.rateLimit).toEqual({ intervalMs: 100, burst: 5 });
    expect(web.reloadable).toBe(true);
  });

  it('takes exporter-toolkit defaults: an empty file is plain HTTP without authentication', async () => {
    for (const text of ['', '# nothing\n', '\t# indented\r\n  \n#', 'tls_server_config:\nbasic_auth_users: {}\n']) {
      const web = await parseWebConfig(text, FILE);
      expect(web.tls).toBeNull();
      expect(web.basicAuthUsers.size).toBe(0);
      expect(web.rateLimit).toBeNull();
    }
    const { tls } = await parseWebConfig('tls_server_config:\n  cert_file: /a.crt\n  key_file: /a.key\n', FILE);
    expect(tls).toMatchObject({ clientAuth: 'NoClientCert', clientCa: null, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', honorCipherOrder: true, ciphers: null, ecdhCurve: null });
  });

  it('reads inline PEM (cert, key, client_ca) and the older RequireClientCert name', async () => {
    const { tls } = await parseWebConfig(
      'tls_server_config:\n  cert: "-----BEGIN CERTIFICATE-----"\n  key: k\n  client_ca: c\n  client_auth_type: RequireClientCert\n',
      FILE,
    );
    expect(tls).toMatchObject({
      cert: { key: 'tls_server_config.cert', pem: '-----BEGIN CERTIFICATE-----' },
      key: { key: 'tls_server_config.key', pem: 'k' },
      clientCa: { key: 'tls_server_config.client_ca', pem: 'c' },
      clientAuth: 'RequireAnyClientCert',
    });
  });

  it.each([
    ['tls_server_config: [a', '(syntax): not valid YAML'],
    ['basic_auth_users:\n  a: x\n  a: y\n', '(syntax): not valid YAML'],
    ['- a\n', '(top level): is not a mapping'],
    ['tls_config:\n  cert_file: a\n', 'tls_config: unknown key (known: tls_server_config, http_server_config, basic_auth_users, rate_limit)'],
    ['tls_server_config:\n  certfile: a\n', 'tls_server_config.certfile: unknown key'],
    ['tls_server_config:\n  cert_file: a\n', 'tls_server_config.key_file: required: missing one of key or key_file'],
    ['tls_server_config:\n  key_file: a\n', 'tls_server_config.cert_file: required: missing one of cert or cert_file'],
    ['tls_server_config:\n  cert_file: a\n  cert: b\n  key_file: c\n', 'tls_server_config.cert_file: set with tls_server_config.cert: give one of them'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireCert\n', 'tls_server_config.client_auth_type: "RequireCert" is not one of NoClientCert,'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', 'tls_server_config.client_auth_type: client CAs are configured without a client authentication policy'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [x]\n', 'tls_server_config.client_allowed_sans: requires client_auth_type'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS1.2\n', 'tls_server_config.min_version: "TLS1.2" is not one of TLS10, TLS11, TLS12, TLS13'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', 'tls_server_config.min_version: is above max_version'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_FOO]\n', 'tls_server_config.cipher_suites: unknown "TLS_FOO"'],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n', 'tls_server_config.curve_preferences: unknown "P256"'],
    ['tls_server_config:\n  cert_file: 7\n  key_file: b\n', 'tls_server_config.cert_file: 7 is not a string'],
    ['http_server_config:\n  headers:\n    Server: x\n', 'http_server_config.headers.Server: cannot be configured'],
    ['http_server_config:\n  headers:\n    X-Frame-Options: allow\n', 'http_server_config.headers.X-Frame-Options: "allow" is not one of deny, sameorigin'],
    ['http_server_config:\n  http2: yes please\n', 'http_server_config.http2: "yes please" is not true or false'],
    ['basic_auth_users:\n  alice: secret\n', 'basic_auth_users.alice: is not a bcrypt hash'],
    [`basic_auth_users:\n  alice: ${HASH.slice(0, -1)}\n`, 'basic_auth_users.alice: is not a bcrypt hash'],
    [`basic_auth_users:\n  alice: ${HASH.replace('$04$', '$03$')}\n`, 'basic_auth_users.alice: is not a bcrypt hash'],
    ['basic_auth_users: [alice]\n', 'basic_auth_users: is not a mapping'],
    ['rate_limit:\n  interval: 1 second\n', 'rate_limit.interval: "1 second" is not a duration'],
    ['rate_limit:\n  interval: 1s\n  burst: -1\n', 'rate_limit.burst: -1 is not a whole number'],
  ])('refuses %j naming the file and key', async (text, message) => {
    await expect(parseWebConfig(text, FILE)).rejects.toThrow(`config error in ${FILE}: ${message}`);
  });

  it("reads Go's durations", () => {
    expect(goDurationMs('1m30s')).toBe(90_000);
    expect(goDurationMs('250ms')).toBe(250);
    expect(goDurationMs('0')).toBe(0);
    expect(goDurationMs('1.5h')).toBe(5_400_000);
    expect(goDurationMs('10')).toBeUndefined();
    expect(goDurationMs('1s junk')).toBeUndefined();
  });
});
