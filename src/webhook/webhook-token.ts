import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/config-error.js';

/**
 * The shared secret Alertmanager presents. Only its SHA-256 digest is kept, and candidates are compared
 * digest to digest: equal lengths for timingSafeEqual whatever was sent, so neither the content nor the
 * length of the secret leaks through response times.
 */
export class WebhookToken {
  readonly #digest: Buffer;

  constructor(secret: string) {
    this.#digest = digest(secret);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(this.#digest, digest(candidate));
  }

  /** --check-config prints the config as JSON; the secret must never reach a terminal or a log. */
  toJSON(): string {
    return '(secret)';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Read once at start-up; surrounding whitespace is dropped as Alertmanager does for its
 * credentials_file, so both sides use the same secret whatever newline the file ends with.
 */
export async function loadWebhookToken(tokenFile: string, configFile: string): Promise<WebhookToken> {
  let text: string;
  try {
    text = await readFile(tokenFile, 'utf8');
  } catch (error) {
    throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} cannot be read (${(error as Error).message})`, { cause: error });
  }
  const secret = text.trim();
  if (secret === '') throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} is empty`);
  if (!/^[\x21-\x7e]+$/.test(secret)) {
    throw new ConfigError(configFile, 'webhook_token_file', `${tokenFile} must hold one token of printable ASCII without blanks`);
  }
  return new WebhookToken(secret);
}
