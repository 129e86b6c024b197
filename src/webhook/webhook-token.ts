import { createHash, timingSafeEqual } from 'node:crypto';

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
