import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Why deliveries are processed one at a time, small ones first: measured on real systemd, a token
 * holder flooding 200 concurrent bodies of 250 alerts each had every body read, parsed and matched in
 * the same turn of the event loop as it arrived, so one turn took 1.2 to 1.7 s; a trip needs about ten
 * turns (each of its spool writes completes in a turn of its own), and latched 15 to 22 s after it
 * was sent. Here the bodies wait as raw bytes (off the JS heap, so a backlog does not drive the
 * collector either) and decoding and matching run a bounded slice per turn. Deliveries of up to
 * SMALL_DELIVERY_BYTES (a trip, an Alertmanager group of a few dozen alerts) have their own lane,
 * served ahead of the bulky ones except every BULK_EVERY-th turn, so that a trip waits behind at most
 * the small deliveries before it and a bulky delivery is never starved. Within a lane a delivery's
 * place is its arrival plus SIZE_DELAY_MS_PER_KIB per KiB (MAX_SIZE_DELAY_MS at most): smaller first,
 * unless the larger one has waited that much longer.
 */
export const SMALL_DELIVERY_BYTES = 16 * 1024;
export const BULK_EVERY = 4;
export const SIZE_DELAY_MS_PER_KIB = 16;
export const MAX_SIZE_DELAY_MS = 4_000;
/** Processing time after which the queue lets the event loop turn before starting the next delivery. */
export const TURN_BUDGET_MS = 5;
/**
 * A delivery still waiting on I/O after this gives up its exclusive turn, not its work: nothing
 * stuck may stop the deliveries behind it from being matched.
 */
export const MAX_HOLD_MS = 2_000;

export interface DeliveryQueueOptions {
  readonly smallDeliveryBytes?: number;
  readonly bulkEvery?: number;
  readonly sizeDelayMsPerKib?: number;
  readonly maxSizeDelayMs?: number;
  readonly turnBudgetMs?: number;
  readonly maxHoldMs?: number;
  readonly now?: () => number;
  /** A delivery started after waiting this long (seconds). */
  readonly onStart?: (waitedSeconds: number) => void;
  /** A delivery dropped unprocessed because its client was gone (never answered: it retries). */
  readonly onShed?: () => void;
}

interface Waiting {
  readonly place: number;
  readonly seq: number;
  readonly enqueuedMs: number;
  readonly gone: () => boolean;
  readonly job: () => Promise<void>;
  readonly settle: (ran: boolean) => void;
}

/** Runs deliveries one at a time: small ones first, each lane in the order of place (arrival plus size delay). */
export class DeliveryQueue {
  readonly #small: Waiting[] = [];
  readonly #bulk: Waiting[] = [];
  /** Small deliveries started in a row while a bulky one waited. */
  #smallStreak = 0;
  readonly #options: Required<Omit<DeliveryQueueOptions, 'onStart' | 'onShed'>>;
  readonly #onStart: (waitedSeconds: number) => void;
  readonly #onShed: () => void;
  #seq = 0;
  #busy = false;
  #turnStartMs = Number.NEGATIVE_INFINITY;

  constructor(options: DeliveryQueueOptions = {}) {
    this.#options = {
      smallDeliveryBytes: options.smallDeliveryBytes ?? SMALL_DELIVERY_BYTES,
      bulkEvery: options.bulkEvery ?? BULK_EVERY,
      sizeDelayMsPerKib: options.sizeDelayMsPerKib ?? SIZE_DELAY_MS_PER_KIB,
      maxSizeDelayMs: options.maxSizeDelayMs ?? MAX_SIZE_DELAY_MS,
      turnBudgetMs: options.turnBudgetMs ?? TURN_BUDGET_MS,
      maxHoldMs: options.maxHoldMs ?? MAX_HOLD_MS,
      now: options.now ?? (() => performance.now()),
    };
    this.#onStart = options.onStart ?? (() => {});
    this.#onShed = options.onShed ?? (() => {});
  }

  /** Deliveries read and waiting for their turn. */
  get length(): number {
    return this.#small.length + this.#bulk.length;
  }

  /**
   * Runs job in its turn; resolves true once it settled (or gave up its turn after maxHoldMs), false
   * when gone() said at its turn that nobody waits for the answer any more (it was never run).
   */
  run(bytes: number, gone: () => boolean, job: () => Promise<void>): Promise<boolean> {
    const now = this.#options.now();
    const delay = Math.min((bytes / 1024) * this.#options.sizeDelayMsPerKib, this.#options.maxSizeDelayMs);
    return new Promise((settle) => {
      const lane = bytes <= this.#options.smallDeliveryBytes ? this.#small : this.#bulk;
      insert(lane, { place: now + delay, seq: this.#seq++, enqueuedMs: now, gone, job, settle });
      this.#pump();
    });
  }

  /** The small lane's head, except every bulkEvery-th turn while a bulky delivery waits. */
  #next(): Waiting | undefined {
    if (this.#bulk.length === 0 || (this.#small.length > 0 && this.#smallStreak < this.#options.bulkEvery - 1)) {
      if (this.#bulk.length > 0) this.#smallStreak += 1;
      return this.#small.shift();
    }
    this.#smallStreak = 0;
    return this.#bulk.shift();
  }

  #pump(): void {
    if (this.#busy) return;
    const next = this.#next();
    if (next === undefined) return;
    if (next.gone()) {
      this.#onShed();
      next.settle(false);
      this.#pump();
      return;
    }
    this.#busy = true;
    const startMs = this.#options.now();
    if (startMs - this.#turnStartMs > this.#options.turnBudgetMs) this.#turnStartMs = startMs;
    this.#onStart((startMs - next.enqueuedMs) / 1000);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(hold);
      next.settle(true);
      void this.#after();
    };
    const hold = setTimeout(release, this.#options.maxHoldMs);
    next.job().then(release, release);
  }

  /** The next delivery in the same turn while the budget lasts, else after the event loop turned. */
  async #after(): Promise<void> {
    if (this.#options.now() - this.#turnStartMs > this.#options.turnBudgetMs) {
      await nextTurn();
      this.#turnStartMs = this.#options.now();
    }
    this.#busy = false;
    this.#pump();
  }
}

/** Sorted by place, then arrival: binary search for the first entry that goes after this one. */
function insert(lane: Waiting[], entry: Waiting): void {
  let low = 0;
  let high = lane.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = lane[mid] as Waiting;
    if (other.place < entry.place || (other.place === entry.place && other.seq < entry.seq)) low = mid + 1;
    else high = mid;
  }
  lane.splice(low, 0, entry);
}
