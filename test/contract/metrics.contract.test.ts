// contract/metrics.json is the one list of the exporter's metrics. The exporter's registry exposes
// exactly these names, types and label names; every ess_* name that the dashboard, the alerting rules
// and their tests, the drill, the docs and the tests use is one of them.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnprivilegedSide } from '../../src/unprivileged-side.js';
import { createFakeHost, type FakeHost } from '../../sandbox/fake-host.js';
import { REPO } from './fixtures.js';

interface MetricEntry {
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'histogram' | 'summary';
  readonly labels: readonly string[];
  readonly meaning: string;
}

const CONTRACT = JSON.parse(readFileSync(`${REPO}contract/metrics.json`, 'utf8')) as {
  standard_names: { names: string[] };
  metrics: MetricEntry[];
  not_metrics: Record<string, string>;
};
const METRICS = new Map(CONTRACT.metrics.map((m) => [m.name, m]));
const NOT_METRICS = new Set(Object.keys(CONTRACT.not_metrics));
/** The only names allowed outside the ess_ prefix: the standard process_* metrics, one by one. */
const STANDARD_NAMES = new Set(CONTRACT.standard_names.names);

/** The series names each type adds to its own name in Prometheus' exposition (prom-client and OpenMetrics). */
const SUFFIXES: Readonly<Record<MetricEntry['type'], readonly string[]>> = {
  gauge: [],
  counter: ['_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['_sum', '_count', '_created'],
};

/** The listed metric a series name belongs to, or undefined. */
export function metricOf(series: string): MetricEntry | undefined {
  const exact = METRICS.get(series);
  if (exact) return exact;
  for (const metric of METRICS.values()) {
    if (SUFFIXES[metric.type].some((suffix) => series === `${metric.name}${suffix}`)) return metric;
  }
  return undefined;
}

/**
 * Every ess_* word of a text that is not in the list: wildcards (`ess_webhook_*`) must cover at least one
 * metric, program names (`ess_controller.sh`) and the names listed under not_metrics are left alone.
 */
export function unknownNames(text: string): string[] {
  const unknown = new Set<string>();
  for (const match of text.matchAll(/(?<![A-Za-z0-9_])ess_[A-Za-z0-9_]*/g)) {
    const word = match[0];
    const rest = text.slice(match.index + word.length);
    if (rest.startsWith('.sh') || NOT_METRICS.has(word)) continue;
    const prefixes = (/^\(([a-z0-9_|]+)\)/.exec(rest)?.[1]?.split('|') ?? []).map((alternative) => `${word}${alternative}`);
    if (rest.startsWith('*') || word.endsWith('_') || prefixes.length > 0) {
      // a wildcard (`ess_webhook_*`), a prefix (`grep ^ess_`) or a regex (`^ess_(active|switch_armed)`)
      for (const prefix of prefixes.length > 0 ? prefixes : [word]) {
        if (![...METRICS.keys()].some((name) => name.startsWith(prefix))) unknown.add(`${prefix}*`);
      }
      continue;
    }
    if (metricOf(word) === undefined) unknown.add(word);
  }
  return [...unknown].sort();
}

/** Labels Prometheus adds to every series of a target, and the bucket label of histograms. */
const TARGET_LABELS = ['job', 'instance'];

/** `metric{label}` for every selector `ess_x{label="...", ...}` whose label the list does not give ess_x. */
export function unknownLabels(text: string): string[] {
  const unknown = new Set<string>();
  for (const match of text.matchAll(/(?<![A-Za-z0-9_])(ess_[A-Za-z0-9_]+)\{([^}]*)\}/g)) {
    const series = match[1] ?? '';
    const metric = metricOf(series);
    if (metric === undefined) continue; // unknownNames reports it
    const allowed = [...metric.labels, ...TARGET_LABELS, ...(series.endsWith('_bucket') ? ['le'] : [])];
    for (const [, label] of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      if (label !== undefined && !allowed.includes(label)) unknown.add(`${series}{${label}}`);
    }
  }
  return [...unknown].sort();
}

const filesIn = (dir: string, extension: RegExp): string[] =>
  readdirSync(`${REPO}${dir}`, { recursive: true, encoding: 'utf8' })
    .filter((name) => extension.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);

/** Where metric names are used, relative to the repository root. */
const USERS = [
  ...filesIn('dashboards/src', /\.ts$/),
  'dashboards/generated/ess.json',
  'alerting/ess.rules.yml',
  ...filesIn('alerting/tests', /\.ya?ml$/),
  'alerting/alertmanager.example.yml',
  'alerting/ess-fleet.rules.yml',
  'alerting/alertmanager.fleet.example.yml',
  'deploy/proof_ess.sh',
  'fleet/ess_fleet.sh',
  'README.md',
  'docs/operator-guide.md',
  'docs/exporter.md',
  'docs/figures.md',
  'docs/design.md',
  'docs/observability.md',
  'docs/fleet.md',
  'contract/README.md',
  ...filesIn('test/integration', /\.ts$/),
  ...filesIn('test/unit', /\.ts$/),
  'test/runbook/runbook.bats',
  'demo/run.sh',
];

describe('contract/metrics.json', () => {
  it('lists each metric once, ess_ names in Prometheus syntax (or a standard process_ name listed as such), with a meaning', () => {
    expect(METRICS.size).toBe(CONTRACT.metrics.length);
    for (const name of STANDARD_NAMES) expect(METRICS.has(name), `${name} of standard_names is in metrics`).toBe(true);
    for (const m of CONTRACT.metrics) {
      if (STANDARD_NAMES.has(m.name)) expect(m.name).toMatch(/^process_[a-z0-9_]*[a-z0-9]$/);
      else expect(m.name).toMatch(/^ess_[a-z0-9_]*[a-z0-9]$/);
      expect(['gauge', 'counter', 'histogram', 'summary']).toContain(m.type);
      if (m.type === 'counter') expect(m.name, 'counters end in _total').toMatch(/_total$/);
      for (const label of m.labels) expect(label).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(m.meaning.length, m.name).toBeGreaterThan(10);
    }
  });

  describe('the exporter registry', () => {
    let fakeHost: FakeHost;
    let exporter: UnprivilegedSide;
    beforeAll(async () => {
      fakeHost = await createFakeHost();
      exporter = new UnprivilegedSide(await fakeHost.config(), { version: '0.0.0-contract', nodejsVersion: 'v20.0.0' }, () => {}, fakeHost.hostPaths);
    });
    afterAll(async () => {
      await exporter.close();
      await fakeHost.cleanup();
    });

    it('exposes exactly the listed metrics, with their types and label names', async () => {
      const exposed = (await exporter.registry.getMetricsAsJSON()).map(({ name, type }) => {
        const metric = exporter.registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] };
        return { name, type: String(type), labels: [...(metric.labelNames ?? [])].sort() };
      });
      const listed = CONTRACT.metrics.map(({ name, type, labels }) => ({ name, type, labels: [...labels].sort() }));
      const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
      expect(exposed.sort(byName)).toEqual(listed.sort(byName));
    });

    it('renders only series of listed metrics', async () => {
      await exporter.refresh();
      const text = await exporter.registry.metrics();
      const series = new Set(
        text
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'))
          .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line),
      );
      expect([...series].filter((name) => metricOf(name) === undefined)).toEqual([]);
    });
  });

  it('the names check itself: suffixes, wildcards and words that are not metrics', () => {
    expect(unknownNames('rate(ess_webhook_request_duration_seconds_bucket[5m]) ess_webhook_request_duration_seconds_count')).toEqual([]);
    expect(unknownNames('ess_active_bucket ess_verdict_sum ess_activations_total_created')).toEqual(['ess_active_bucket', 'ess_verdict_sum']);
    expect(unknownNames('`ess_webhook_*` `ess_*` `ess_nothing_*` grep ^ess_')).toEqual(['ess_nothing_*']);
    expect(unknownNames('grep -E "^ess_(active|switch_armed|last_activation_latency|actve)"')).toEqual(['ess_actve*']);
    expect(unknownNames('ess_controller.sh status; ess_trip="true"; ess_activ')).toEqual(['ess_activ']);
    expect(unknownLabels('ess_verdict{job="x", verdikt="armed"} ess_webhook_request_duration_seconds_bucket{le="0.1"} ess_active{le="1"}')).toEqual([
      'ess_active{le}',
      'ess_verdict{verdikt}',
    ]);
  });

  describe.each(USERS)('%s', (file) => {
    const text = readFileSync(`${REPO}${file}`, 'utf8');
    it('uses listed metric names only', () => {
      expect(unknownNames(text)).toEqual([]);
    });
    it('selects listed metrics by their own labels only (and the target labels job, instance)', () => {
      expect(unknownLabels(text)).toEqual([]);
    });
  });

  it('the table of the exporter (docs/exporter.md) gives each listed metric its labels and type', () => {
    const readme = readFileSync(`${REPO}docs/exporter.md`, 'utf8');
    const problems: string[] = [];
    for (const row of readme.split('\n').filter((line) => /^\| `(ess|process)_/.test(line))) {
      const [, names = '', types = ''] = row.split(/\s*\|\s*/);
      const cells = [...names.matchAll(/`([^`]*)`/g)].map(([, cell]) => cell ?? '');
      const typeWords = types.split(/,\s*/);
      cells.forEach((cell, index) => {
        const parsed = /^((?:ess|process)_[a-z0-9_]+)(?:\{([a-z_,]*)\})?$/.exec(cell);
        const metric = parsed && METRICS.get(parsed[1] ?? '');
        if (!parsed || !metric) return; // a wildcard row
        const labels = parsed[2] === undefined ? [] : parsed[2].split(',');
        if (labels.join(',') !== metric.labels.join(',')) problems.push(`${cell}: the list says {${metric.labels.join(',')}}`);
        const type = typeWords.length === cells.length ? typeWords[index] : typeWords[0];
        if (typeWords.length <= cells.length && type !== metric.type) problems.push(`${cell}: ${String(type)}, the list says ${metric.type}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it('every listed metric is in the table of the exporter (docs/exporter.md; by name, or by a wildcard there)', () => {
    const readme = readFileSync(`${REPO}docs/exporter.md`, 'utf8');
    const table = readme.split('\n').filter((line) => /^\| `(ess|process)_/.test(line)).join('\n');
    const documented = [...table.matchAll(/`([^`]*)`/g)].flatMap(([, cell]) =>
      (cell ?? '').split(/,\s*/).map((name) => name.replace(/\{.*$/, '')),
    );
    const missing = CONTRACT.metrics
      .map(({ name }) => name)
      .filter((name) => !documented.some((doc) => doc === name || (doc.endsWith('*') && name.startsWith(doc.slice(0, -1)))));
    expect(missing).toEqual([]);
  });
});
