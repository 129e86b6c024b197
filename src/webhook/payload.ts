import type { Labels } from '../config/matchers.js';

export type AlertStatus = 'firing' | 'resolved';

export interface WebhookAlert {
  readonly status: AlertStatus;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** Alertmanager's webhook payload, version "4". */
export interface WebhookPayload {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: AlertStatus;
  readonly receiver: string;
  readonly groupLabels: Labels;
  readonly commonLabels: Labels;
  readonly commonAnnotations: Labels;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

export type PayloadResult =
  | { readonly ok: true; readonly payload: WebhookPayload }
  | { readonly ok: false; readonly details: readonly string[] };

/** A payload with thousands of bad alerts must not produce a response as large as itself. */
const MAX_DETAILS = 20;

// Go's time.Time in JSON (RFC 3339, nanoseconds optional); endsAt of a firing alert is Go's zero time.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Validates a parsed JSON body. Unknown fields are ignored (newer Alertmanagers add some); known ones
 * must have exactly the documented type. truncatedAlerts alone may be missing (Alertmanager < 0.22).
 */
export function parsePayload(json: unknown): PayloadResult {
  const problems = new Problems();
  const body = problems.object(json, '(body)');
  if (body === undefined) return { ok: false, details: problems.list() };

  if (body.version !== '4') problems.add('version', `must be "4" (got ${JSON.stringify(body.version) ?? 'nothing'})`);
  const alertsValue = body.alerts;
  let alerts: WebhookAlert[] = [];
  if (Array.isArray(alertsValue)) {
    alerts = alertsValue.flatMap((alert: unknown, index) => {
      const parsed = parseAlert(alert, `alerts[${index}]`, problems);
      return parsed === undefined ? [] : [parsed];
    });
  } else {
    problems.add('alerts', 'must be a list');
  }
  const payload: WebhookPayload = {
    version: '4',
    groupKey: problems.string(body.groupKey, 'groupKey'),
    truncatedAlerts: body.truncatedAlerts === undefined ? 0 : problems.count(body.truncatedAlerts, 'truncatedAlerts'),
    status: problems.status(body.status, 'status'),
    receiver: problems.string(body.receiver, 'receiver'),
    groupLabels: problems.labels(body.groupLabels, 'groupLabels'),
    commonLabels: problems.labels(body.commonLabels, 'commonLabels'),
    commonAnnotations: problems.labels(body.commonAnnotations, 'commonAnnotations'),
    externalURL: problems.string(body.externalURL, 'externalURL'),
    alerts,
  };
  return problems.empty() ? { ok: true, payload } : { ok: false, details: problems.list() };
}

function parseAlert(value: unknown, path: string, problems: Problems): WebhookAlert | undefined {
  const alert = problems.object(value, path);
  if (alert === undefined) return undefined;
  return {
    status: problems.status(alert.status, `${path}.status`),
    labels: problems.labels(alert.labels, `${path}.labels`),
    annotations: problems.labels(alert.annotations, `${path}.annotations`),
    startsAt: problems.timestamp(alert.startsAt, `${path}.startsAt`),
    endsAt: problems.timestamp(alert.endsAt, `${path}.endsAt`),
    generatorURL: problems.string(alert.generatorURL, `${path}.generatorURL`),
    fingerprint: problems.string(alert.fingerprint, `${path}.fingerprint`),
  };
}

/**
 * Collects "path: problem" lines. Each check returns a placeholder of the right type on failure, so that
 * one pass reports every problem; the placeholders are never used because the result is then refused.
 */
class Problems {
  readonly #lines: string[] = [];
  #count = 0;

  add(path: string, problem: string): void {
    this.#count += 1;
    if (this.#lines.length < MAX_DETAILS) this.#lines.push(`${path}: ${problem}`);
  }

  empty(): boolean {
    return this.#count === 0;
  }

  list(): string[] {
    const hidden = this.#count - this.#lines.length;
    return hidden > 0 ? [...this.#lines, `... and ${hidden} more`] : [...this.#lines];
  }

  object(value: unknown, path: string): Readonly<Record<string, unknown>> | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    this.add(path, 'must be an object');
    return undefined;
  }

  string(value: unknown, path: string): string {
    if (typeof value === 'string') return value;
    this.add(path, value === undefined ? 'missing (must be a string)' : 'must be a string');
    return '';
  }

  timestamp(value: unknown, path: string): string {
    const text = this.string(value, path);
    if (typeof value === 'string' && !RFC3339.test(text)) this.add(path, 'must be an RFC 3339 timestamp');
    return text;
  }

  count(value: unknown, path: string): number {
    if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
    this.add(path, 'must be a non-negative integer');
    return 0;
  }

  status(value: unknown, path: string): AlertStatus {
    if (value === 'firing' || value === 'resolved') return value;
    this.add(path, 'must be "firing" or "resolved"');
    return 'resolved';
  }

  labels(value: unknown, path: string): Labels {
    const object = this.object(value, path);
    if (object === undefined) return {};
    const entries = Object.entries(object);
    for (const [name, labelValue] of entries) {
      if (typeof labelValue !== 'string') this.add(`${path}.${name}`, 'must be a string');
    }
    return Object.fromEntries(entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }
}
