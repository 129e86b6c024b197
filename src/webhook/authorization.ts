import type { WebhookToken } from './webhook-token.js';

export type AuthorizationResult = 'ok' | 'missing' | 'wrong';

/**
 * Checks an Authorization header against the token: `Bearer <token>` (Alertmanager's
 * http_config.authorization) or `Basic` with the token as password and any user name
 * (http_config.basic_auth). Without a token (allowed on loopback only) every request passes.
 */
export function checkAuthorization(token: WebhookToken | null, header: string | undefined): AuthorizationResult {
  if (token === null) return 'ok';
  if (header === undefined || header.trim() === '') return 'missing';
  const presented = presentedSecret(header);
  return presented !== undefined && token.matches(presented) ? 'ok' : 'wrong';
}

function presentedSecret(header: string): string | undefined {
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const [, scheme = '', credentials = ''] = match;
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return credentials;
    case 'basic': {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon === -1 ? undefined : decoded.slice(colon + 1);
    }
    default:
      return undefined;
  }
}
