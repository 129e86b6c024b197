import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import { keepUntilAnswered } from '../http/connection-guard.js';
import { checkAuthorization } from './authorization.js';
import { BODY_SHAPE_LIMITS, bodyShapeProblem, isSmallBody, MAX_CONCURRENT_BODIES, SLOT_GRACE_MS, SLOT_MIN_BYTES_PER_SECOND, Slots, tooSlow } from './body-gate.js';
import { parsePayload } from './payload.js';
import { printableAscii } from './printable.js';
import { type Delivery, preciseNowMs, type WebhookReceiver } from './receiver.js';
import { RejectionLog } from './rejection-log.js';
import type { Log } from '../io/log.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import type { WebhookToken } from './webhook-token.js';

export const WEBHOOK_PATH = '/alertmanager';

/**
 * POST /alertmanager. Checks in this order, the cheap and secret-guarding ones before the body is read:
 * method (405), credentials (401), content type (415), body size (413), JSON and schema (400). Then
 * 200 once every matching alert's trip request is durably written (or deduplicated, or nothing
 * matched), 500 if one could not be written, so that Alertmanager retries.
 */
export function webhookRouter(receiver: WebhookReceiver, log: Log): Router {
  const { metrics, settings } = receiver;
  const router = Router();
  const rejections = new RejectionLog(log);
  router.post(
    WEBHOOK_PATH,
    measure(metrics),
    authorize(settings.token, rejections),
    requireJson(rejections),
    readJson(settings.bodyLimitBytes, metrics, rejections),
    bodyErrors(settings.bodyLimitBytes, rejections),
    receive(receiver, log, rejections),
  );
  router.all(WEBHOOK_PATH, measure(metrics), (req, res) => {
    rejections.reject(`webhook: 405 method ${printableAscii(req.method, 20)}`);
    res.set('Allow', 'POST');
    refuse(res, 405, 'method not allowed', ['use POST']);
  });
  return router;
}

/** The first handler: when the request arrived (the trigger instant of any trip it causes), its duration and code. */
function measure(metrics: WebhookMetrics): RequestHandler {
  return (_req, res, next) => {
    res.locals.receivedAtMs = preciseNowMs();
    const stopTimer = metrics.requestDuration.startTimer();
    res.on('finish', () => {
      stopTimer();
      metrics.requests.inc({ code: String(res.statusCode) });
    });
    next();
  };
}

function authorize(token: WebhookToken | null, rejections: RejectionLog): RequestHandler {
  return (req, res, next) => {
    const result = checkAuthorization(token, req.get('authorization'));
    if (result === 'ok') {
      next();
      return;
    }
    rejections.reject(`webhook: 401 ${result} credentials from ${req.socket.remoteAddress ?? '?'}`);
    res.set('WWW-Authenticate', 'Bearer realm="quantum-ess"');
    refuse(res, 401, 'unauthorized', [`${result} credentials (Authorization: Bearer <token>)`]);
  };
}

function requireJson(rejections: RejectionLog): RequestHandler {
  return (req, res, next) => {
    if (req.is('application/json')) {
      next();
      return;
    }
    const type = printableAscii(req.get('content-type') ?? '(none)', 100);
    rejections.reject(`webhook: 415 content type ${type}`);
    refuse(res, 415, 'unsupported content type', [`expected application/json, got ${type}`]);
  };
}

/**
 * Content type already checked; inflate off: Alertmanager does not compress, and a compressed body
 * is only a way around the size limit. verify runs on the raw bytes before JSON.parse: a body of a
 * million tiny values or a deep nesting is refused before it becomes objects.
 */
function jsonParser(limitBytes: number): RequestHandler {
  return express.json({
    limit: limitBytes,
    type: () => true,
    strict: true,
    inflate: false,
    verify: (_req, _res, buffer) => {
      const problem = bodyShapeProblem(buffer, BODY_SHAPE_LIMITS);
      if (problem !== null) throw Object.assign(new Error(`body refused unparsed: ${problem}`), { status: 400, type: 'entity.shape' });
    },
  });
}

/**
 * Large bodies are read and parsed a few at a time, so that concurrent large bodies cannot add up in
 * memory or hold the event loop; the others wait unread (the kernel's socket buffers push back on the
 * sender). Small bodies (a trip) need no slot, and a slot holder too slow to send is dropped.
 */
function readJson(limitBytes: number, metrics: WebhookMetrics, rejections: RejectionLog): RequestHandler {
  const parseJson = jsonParser(limitBytes);
  const bodySlots = new Slots(MAX_CONCURRENT_BODIES);
  const parsed = (req: Request, next: NextFunction) => (error?: unknown): void => {
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
      parseJson(req, res, parsed(req, next));
      return;
    }
    void bodySlots.acquire().then(() => parseInSlot(req, res, { parseJson, bodySlots, dropSlow, done: parsed(req, next) }));
  };
}

interface SlotParse {
  readonly parseJson: RequestHandler;
  readonly bodySlots: Slots;
  /** Drops a request whose body comes in too slowly to keep its slot. */
  readonly dropSlow: (req: Request) => void;
  readonly done: (error?: unknown) => void;
}

/** Parses the body while holding a slot, released once, whichever comes first: parsed, closed, too slow. */
function parseInSlot(req: Request, res: Response, { parseJson, bodySlots, dropSlow, done }: SlotParse): void {
  let held = true;
  const heldFrom = Date.now();
  const bytesFrom = req.socket.bytesRead;
  const watch = setInterval(() => {
    if (!tooSlow(req.socket.bytesRead - bytesFrom, Date.now() - heldFrom)) return;
    dropSlow(req);
    release();
  }, SLOT_GRACE_MS / 4);
  const release = (): void => {
    if (!held) return;
    held = false;
    clearInterval(watch);
    bodySlots.release();
  };
  if (req.socket.destroyed) {
    release();
    return;
  }
  res.once('close', release);
  parseJson(req, res, (error?: unknown) => {
    release();
    done(error);
  });
}

function bodyErrors(limitBytes: number, rejections: RejectionLog): ErrorRequestHandler {
  return (error: { status?: unknown; type?: unknown; message?: unknown }, _req, res, _next) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 400;
    const message = printableAscii(String(error.message), 200);
    rejections.reject(`webhook: ${status} unreadable body: ${message}`);
    if (status === 413) {
      refuse(res, 413, 'body too large', [`limit is ${limitBytes} bytes (webhook_body_limit_bytes)`]);
    } else if (status === 415) {
      refuse(res, 415, 'unsupported content encoding or charset', [message]);
    } else if (error.type === 'entity.shape') {
      refuse(res, 400, 'invalid payload', [message]);
    } else {
      res.status(400).json({ error: 'malformed JSON', details: [message] });
    }
  };
}

function receive(receiver: WebhookReceiver, log: Log, rejections: RejectionLog): RequestHandler {
  return async (req, res) => {
    const parsed = parsePayload(req.body);
    if (!parsed.ok) {
      rejections.reject(`webhook: 400 invalid payload: ${printableAscii(parsed.details.join('; '), 300)}`);
      res.status(400).json({ error: 'invalid payload', details: parsed.details });
      return;
    }
    const delivery = await receiver.receive(parsed.payload, res.locals.receivedAtMs as number);
    const summary = summarize(parsed.payload.receiver, delivery);
    if (delivery.failed.length > 0) {
      log(`webhook: 500 ${summary}`);
      res.status(500).json({
        error: 'trip request could not be written',
        details: delivery.failed.map((failure) => `${failure.alertname} fingerprint ${failure.fingerprint}: ${failure.error}`),
        ...delivery,
      });
      return;
    }
    log(`webhook: 200 ${summary}`);
    res.status(200).json(delivery);
  };
}

/** One log line per delivery: what became of its alerts. */
function summarize(receiverName: string, delivery: Delivery): string {
  return (
    `receiver ${printableAscii(receiverName, 60)}: ${delivery.tripped.length} tripped, ` +
    `${delivery.deduplicated.length} deduplicated, ${delivery.failed.length} failed, ` +
    `${delivery.other_target.length} for other hosts, ${delivery.invalid_scope.length} invalid scope, ${delivery.ignored} ignored` +
    (delivery.dry_run ? ' (dry run)' : '')
  );
}

/**
 * Answers without reading the body, and closes the connection: an unread body would otherwise be
 * drained to keep the connection alive, whatever its size.
 */
function refuse(res: Response, status: number, error: string, details: readonly string[]): void {
  res.set('Connection', 'close').status(status).json({ error, details });
}
