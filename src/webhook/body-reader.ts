import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { keepUntilAnswered } from '../http/connection-guard.js';
import { BODY_SHAPE_LIMITS, bodyShapeProblem, isSmallBody, MAX_CONCURRENT_BODIES, SLOT_GRACE_MS, SLOT_MIN_BYTES_PER_SECOND, Slots, tooSlow } from './body-gate.js';
import { printableAscii } from './printable.js';
import type { RejectionLog } from './rejection-log.js';
import type { WebhookMetrics } from './webhook-metrics.js';

/**
 * Reads the body as raw bytes into req.body (a Buffer); nothing is parsed here: parsing waits for the
 * delivery's turn (delivery-queue.ts), so a flood of bodies costs the event loop their reading only.
 * Large bodies are read a few at a time and keep their slot until answered, so that concurrent large
 * bodies cannot add up in memory while they wait; the others wait unread (the kernel's socket buffers
 * push back on the sender). Small bodies (a trip) need no slot, and a slot holder too slow to send is
 * dropped. Content type already checked; inflate off: Alertmanager does not compress, and a compressed
 * body is only a way around the size limit.
 */
export function readBody(limitBytes: number, metrics: WebhookMetrics, rejections: RejectionLog): RequestHandler {
  const readRaw = express.raw({ limit: limitBytes, type: () => true, inflate: false });
  const bodySlots = new Slots(MAX_CONCURRENT_BODIES);
  const read = (req: Request, next: NextFunction) => (error?: unknown): void => {
    // the body is in: a trip now finishes, whatever new connections arrive
    if (error === undefined) keepUntilAnswered(req);
    next(error);
  };
  const dropSlow = (req: Request): void => {
    rejections.reject(`webhook: slow body dropped from ${req.socket.remoteAddress ?? '?'} (under ${SLOT_MIN_BYTES_PER_SECOND} bytes/s)`);
    metrics.connectionsClosed.inc({ reason: 'slow_body' });
    req.socket.destroy();
  };
  return (req, res, next) => {
    if (isSmallBody(req.get('content-length'))) {
      readRaw(req, res, read(req, next));
      return;
    }
    void bodySlots.acquire().then(() => readInSlot(req, res, { readRaw, bodySlots, dropSlow, done: read(req, next) }));
  };
}

interface SlotRead {
  readonly readRaw: RequestHandler;
  readonly bodySlots: Slots;
  /** Drops a request whose body comes in too slowly to keep its slot. */
  readonly dropSlow: (req: Request) => void;
  readonly done: (error?: unknown) => void;
}

/**
 * Reads the body while holding a slot; watched for speed until read, released once the answer is out
 * or the connection closed (or at once when too slow).
 */
function readInSlot(req: Request, res: Response, { readRaw, bodySlots, dropSlow, done }: SlotRead): void {
  let held = true;
  const heldFrom = Date.now();
  const bytesFrom = req.socket.bytesRead;
  const watch = setInterval(() => {
    if (!tooSlow(req.socket.bytesRead - bytesFrom, Date.now() - heldFrom)) return;
    dropSlow(req);
    release();
  }, SLOT_GRACE_MS / 4);
  const release = (): void => {
    clearInterval(watch);
    if (!held) return;
    held = false;
    bodySlots.release();
  };
  if (req.socket.destroyed) {
    release();
    return;
  }
  res.once('close', release);
  readRaw(req, res, (error?: unknown) => {
    clearInterval(watch);
    if (error !== undefined) release();
    done(error);
  });
}

export type DecodedBody =
  | { readonly ok: true; readonly json: unknown }
  | { readonly ok: false; readonly status: 400 | 415; readonly error: string; readonly details: readonly string[] };

/**
 * The raw body as JSON, in the order of cost: the charset (Alertmanager sends UTF-8), then one pass over
 * the bytes (a million tiny values or a deep nesting is refused before it becomes objects), then
 * JSON.parse; strict: an object or an array only.
 */
export function decodeJsonBody(body: Buffer, contentType: string | undefined): DecodedBody {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return { ok: false, status: 415, error: 'unsupported content encoding or charset', details: [`unsupported charset "${printableAscii(charset, 40)}" (UTF-8 only)`] };
  }
  const problem = bodyShapeProblem(body, BODY_SHAPE_LIMITS);
  if (problem !== null) return { ok: false, status: 400, error: 'invalid payload', details: [`body refused unparsed: ${problem}`] };
  const text = body.toString('utf8');
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') {
    return { ok: false, status: 400, error: 'malformed JSON', details: [first === undefined ? 'empty body' : 'the body must be a JSON object'] };
  }
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, status: 400, error: 'malformed JSON', details: [printableAscii((error as Error).message, 200)] };
  }
}
