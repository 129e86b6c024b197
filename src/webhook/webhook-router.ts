import { type ErrorRequestHandler, type Request, type RequestHandler, type Response, Router } from 'express';
import { describe, type Log } from '../io/log.js';
import { checkAuthorization } from './authorization.js';
import { decodeJsonBody, readBody } from './body-reader.js';
import { DeliveryQueue } from './delivery-queue.js';
import { parsePayload } from './payload.js';
import { printableAscii } from './printable.js';
import { type Delivery, preciseNowMs, type WebhookReceiver } from './receiver.js';
import { RejectionLog } from './rejection-log.js';
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
    readBody(settings.bodyLimitBytes, metrics, rejections),
    bodyErrors(settings.bodyLimitBytes, rejections),
    answerInTurn(receiver, log, rejections),
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

function bodyErrors(limitBytes: number, rejections: RejectionLog): ErrorRequestHandler {
  return (error: { status?: unknown; message?: unknown }, _req, res, _next) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 400;
    const message = printableAscii(String(error.message), 200);
    rejections.reject(`webhook: ${status} unreadable body: ${message}`);
    if (status === 413) {
      refuse(res, 413, 'body too large', [`limit is ${limitBytes} bytes (webhook_body_limit_bytes)`]);
    } else if (status === 415) {
      refuse(res, 415, 'unsupported content encoding or charset', [message]);
    } else {
      res.status(400).json({ error: 'malformed JSON', details: [message] });
    }
  };
}

/**
 * Each delivery's body, once read, waits for its turn (delivery-queue.ts: one at a time, small before
 * bulky) and is only then decoded, matched and answered. A client gone before its turn was never
 * answered, so Alertmanager retries it: it is dropped unprocessed and counted.
 */
function answerInTurn(receiver: WebhookReceiver, log: Log, rejections: RejectionLog): RequestHandler {
  const { metrics } = receiver;
  const queue = new DeliveryQueue({
    onStart: (waited) => metrics.queueWait.observe(waited),
    onShed: () => metrics.deliveriesShed.inc({ reason: 'client_gone' }),
  });
  metrics.queuedDeliveries = () => queue.length;
  // deliveries that did nothing for this host: a token holder's flood of them must not fill the journal
  const quiet = new RejectionLog(log, 20, 60_000, Date.now, 'deliveries that tripped nothing here were not logged (see ess_webhook_requests_total)');
  return (req, res) => {
    const body = req.body as Buffer;
    const gone = (): boolean => res.closed || req.socket.destroyed;
    void queue.run(body.length, gone, async () => {
      try {
        await answer(req, res, receiver, { log, quiet, rejections });
      } catch (error) {
        log(`request failed: ${describe(error)}`);
        if (!res.headersSent) res.status(500).type('text').send('internal error\n');
      }
    });
  };
}

interface AnswerLogs {
  readonly log: Log;
  readonly quiet: RejectionLog;
  readonly rejections: RejectionLog;
}

/** Decodes, matches and, for what trips nothing, answers at once; the trip writes go on after the turn. */
async function answer(req: Request, res: Response, receiver: WebhookReceiver, logs: AnswerLogs): Promise<void> {
  const decoded = decodeJsonBody(req.body as Buffer, req.get('content-type'));
  if (!decoded.ok) {
    logs.rejections.reject(`webhook: ${decoded.status} unreadable body: ${printableAscii(decoded.details.join('; '), 200)}`);
    refuse(res, decoded.status, decoded.error, decoded.details);
    return;
  }
  const parsed = parsePayload(decoded.json);
  if (!parsed.ok) {
    logs.rejections.reject(`webhook: 400 invalid payload: ${printableAscii(parsed.details.join('; '), 300)}`);
    res.status(400).json({ error: 'invalid payload', details: parsed.details });
    return;
  }
  const matched = await receiver.match(parsed.payload, res.locals.receivedAtMs as number);
  const written = receiver.trip(matched, res.locals.receivedAtMs as number).then((delivery) => reply(res, parsed.payload.receiver, delivery, logs));
  // nothing to write: answered within the turn; else the writes overlap the next deliveries' turns
  written.catch((error: unknown) => {
    logs.log(`request failed: ${describe(error)}`);
    if (!res.headersSent) res.status(500).type('text').send('internal error\n');
  });
}

function reply(res: Response, receiverName: string, delivery: Delivery, { log, quiet }: AnswerLogs): void {
  const summary = summarize(receiverName, delivery);
  if (delivery.failed.length > 0) {
    log(`webhook: 500 ${summary}`);
    res.status(500).json({
      error: 'trip request could not be written',
      details: delivery.failed.map((failure) => `${failure.alertname} fingerprint ${failure.fingerprint}: ${failure.error}`),
      ...delivery,
    });
    return;
  }
  const forThisHost = delivery.tripped.length + delivery.deduplicated.length + delivery.invalid_scope.length > 0;
  if (forThisHost) log(`webhook: 200 ${summary}`);
  else quiet.reject(`webhook: 200 ${summary}`);
  res.status(200).json(delivery);
}

/** One log line per delivery: what became of its alerts. */
function summarize(receiverName: string, delivery: Delivery): string {
  return (
    `receiver ${printableAscii(receiverName, 60)}: ${delivery.tripped.length} tripped, ` +
    `${delivery.deduplicated.length} deduplicated, ${delivery.failed.length} failed, ` +
    `${delivery.other_target.length} for other hosts, ${delivery.invalid_scope.length} invalid scope, ${delivery.ignored} ignored, ` +
    `${delivery.heartbeats} heartbeats` +
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
