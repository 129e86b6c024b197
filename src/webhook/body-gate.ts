/**
 * Bounds on a webhook body before it becomes objects. Alertmanager's payload nests 4 deep (body,
 * alerts, alert, labels) with about 25 members per alert; a body of the default 1 MiB limit holds at
 * most about 1,500 real alerts. A hostile body within the byte limit can still be a million tiny values
 * or a nesting thousands deep, which JSON.parse and the schema check would turn into hundreds of
 * megabytes and seconds of blocked event loop: the raw bytes are scanned first.
 */
export const BODY_SHAPE_LIMITS = { maxDepth: 16, maxAlerts: 2_000, maxMembers: 100_000 };

/**
 * Large bodies read, or read and waiting for their turn (delivery-queue.ts), at the same time at most;
 * the others wait, unread, in the kernel's buffers. A body declared no larger than SMALL_BODY_BYTES
 * (an Alertmanager delivery of a few dozen alerts; a trip is usually one) needs no slot: 512
 * connections of them hold 32 MiB at most, and a trip never queues behind a large or slow body.
 */
export const MAX_CONCURRENT_BODIES = 2;
export const SMALL_BODY_BYTES = 64 * 1024;
/**
 * A large body holding a slot must arrive at this average rate once it has held it for the grace
 * period (Alertmanager sends 1 MiB in milliseconds); a slower one is dropped, so a token holder
 * trickling bodies holds a slot about a second, not the whole request timeout.
 */
export const SLOT_MIN_BYTES_PER_SECOND = 128 * 1024;
export const SLOT_GRACE_MS = 1_000;

/** True when the request declares a length within SMALL_BODY_BYTES (chunked bodies are large). */
export function isSmallBody(contentLength: string | undefined): boolean {
  if (contentLength === undefined || !/^\d{1,12}$/.test(contentLength)) return false;
  return Number(contentLength) <= SMALL_BODY_BYTES;
}

/** Whether a slot holder is too slow: bytes received since it got the slot, over the time held. */
export function tooSlow(bytes: number, heldMs: number): boolean {
  return heldMs >= SLOT_GRACE_MS && bytes < (SLOT_MIN_BYTES_PER_SECOND * heldMs) / 1000;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * One pass over the raw JSON: nesting depth, the number of objects in a top-level array (the alerts),
 * and the number of members and elements overall (commas). Returns the first limit exceeded, or null.
 * Does not validate: JSON.parse still does, on a body now known to be small in objects.
 */
export function bodyShapeProblem(body: Uint8Array, limits = BODY_SHAPE_LIMITS): string | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let alerts = 0;
  let members = 0;
  // the container at depth 1 and 2: an object at depth 3 inside [object, array] is an alert
  let first = 0;
  let second = 0;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (byte === OPEN_OBJECT && depth === 2 && first === OPEN_OBJECT && second === OPEN_ARRAY) {
          alerts += 1;
          if (alerts > limits.maxAlerts) return `more than ${limits.maxAlerts} alerts`;
        }
        depth += 1;
        if (depth > limits.maxDepth) return `nested deeper than ${limits.maxDepth}`;
        if (depth === 1) first = byte;
        else if (depth === 2) second = byte;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth -= 1;
        break;
      case COMMA:
        members += 1;
        if (members > limits.maxMembers) return `more than ${limits.maxMembers} members and elements`;
        break;
      default:
    }
  }
  return null;
}

/** A counting semaphore: at most `size` holders, the others wait in arrival order. */
export class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free += 1;
  }

  waitingCount(): number {
    return this.#waiting.length;
  }
}
