import { type Metric, Registry } from 'prom-client';

// prom-client renders each metric with Registry#getMetricsAsString, which its types leave out.
declare module 'prom-client' {
  interface Registry {
    getMetricsAsString(metric: Metric | Renderable): Promise<string>;
  }
}

/** What a metric hands the registry to render (prom-client's get() or getForPromString()). */
interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly Sample[];
}

/** A metric as the registry renders it: a histogram's getForPromString(), else get(). */
interface Renderable {
  getForPromString?(): Promise<MetricData>;
  get(): Promise<MetricData>;
}

interface Sample {
  readonly value: number;
  readonly labels?: Readonly<Record<string, unknown>>;
  readonly sharedLabels?: Readonly<Record<string, unknown>>;
  readonly metricName?: string;
  readonly exemplar?: unknown;
}

const END = Symbol('end of labels');

/**
 * Hands visit() everything the text of a metric is made of, in order (name, help, type, and each
 * sample's name, value and labels), until visit() returns false; false then, and when a sample has an
 * exemplar (never cached).
 */
function walk(data: MetricData, contentType: string, visit: (part: unknown) => boolean): boolean {
  if (!(visit(contentType) && visit(data.name) && visit(data.help) && visit(data.type))) return false;
  for (const sample of data.values ?? []) {
    if (sample.exemplar != null || !(visit(sample.metricName) && visit(sample.value))) return false;
    if (!(visitLabels(sample.labels, visit) && visitLabels(sample.sharedLabels, visit))) return false;
  }
  return true;
}

function visitLabels(labels: Readonly<Record<string, unknown>> | undefined, visit: (part: unknown) => boolean): boolean {
  for (const name in labels) if (!(visit(name) && visit(labels[name]))) return false;
  return visit(END);
}

/** The parts walk() visits, flat; null when the metric is never cached. */
function signature(data: MetricData, contentType: string): unknown[] | null {
  const flat: unknown[] = [];
  return walk(data, contentType, (part) => flat.push(part) > 0) ? flat : null;
}

/** Whether the metric is made of the same parts as that signature (compared as they are visited: nothing allocated). */
function matches(data: MetricData, contentType: string, flat: readonly unknown[]): boolean {
  let at = 0;
  return walk(data, contentType, (part) => Object.is(part, flat[at++])) && at === flat.length;
}

/**
 * The app's one Registry, which renders a metric's text again only when one of its samples changed.
 * Every collector still runs at every scrape (the values are as fresh as ever); most of a scrape's
 * samples are the same as at the previous one, and prom-client's formatting of labels (escaping, a
 * cache keyed by a new object per sample) costs more than the collecting itself.
 */
export class RenderingRegistry extends Registry {
  readonly #rendered = new WeakMap<object, { readonly signature: readonly unknown[]; readonly text: string }>();
  #renders = 0;

  /** How many renderings have begun: collectors that share work within one rendering tell them apart by it. */
  get renders(): number {
    return this.#renders;
  }

  override metrics(): Promise<string> {
    this.#renders += 1;
    return super.metrics();
  }

  override async getMetricsAsString(metric: Metric | Renderable): Promise<string> {
    const source = metric as unknown as Renderable;
    const data = await (typeof source.getForPromString === 'function' ? source.getForPromString() : source.get());
    const last = this.#rendered.get(metric);
    if (last !== undefined && matches(data, this.contentType, last.signature)) return last.text;
    const flat = signature(data, this.contentType);
    const text = await super.getMetricsAsString({ get: () => Promise.resolve(data) });
    if (flat !== null) this.#rendered.set(metric, { signature: flat, text });
    return text;
  }
}
