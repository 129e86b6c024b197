import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildEssDashboard, DATASOURCE_VARIABLE } from '../../../dashboards/src/ess-dashboard.js';
import { GENERATED_DASHBOARD, renderEssDashboard } from '../../../dashboards/src/generate.js';
import { PANEL_QUERIES, toRunnableQuery } from '../../../dashboards/src/queries.js';
import { stableStringify } from '../../../dashboards/src/stable-json.js';
import { VERDICT_EXIT_CODES } from '../../../src/verdict/latch-verdict.js';

interface Target {
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
  readonly collapsed?: boolean;
}

const DATASOURCE_UID = `\${${DATASOURCE_VARIABLE}}`;

function compact(value: unknown): string {
  return JSON.stringify(JSON.parse(stableStringify(value)));
}

function panelsOf(): Panel[] {
  return (buildEssDashboard().panels ?? []) as unknown as Panel[];
}

describe('ESS dashboard', () => {
  it('matches the committed dashboards/generated/ess.json (run: npx tsx dashboards/src/generate.ts)', async () => {
    const committed = await readFile(GENERATED_DASHBOARD, 'utf8');
    expect(renderEssDashboard()).toBe(committed);
  });

  it('renders the same bytes every time', () => {
    expect(renderEssDashboard()).toBe(renderEssDashboard());
  });

  it('gives every non-row panel a PromQL target and the datasource variable, on the panel and each target', () => {
    const panels = panelsOf().filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID });
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim(), panel.title).toBeTruthy();
        expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID });
      }
    }
  });

  it('keeps rows expanded, so the ESS state is visible without a click', () => {
    for (const row of panelsOf().filter((panel) => panel.type === 'row')) {
      expect(row.collapsed, row.title).toBe(false);
      expect(row.panels ?? [], row.title).toEqual([]);
    }
  });

  it('gives panels unique ids', () => {
    const ids = panelsOf().map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
  });

  it('exports exactly the expressions its panels run, each filtered by job and $instance', () => {
    const used = panelsOf().flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));
    expect([...new Set(used)].sort()).toEqual([...new Set(PANEL_QUERIES)].sort());
    for (const expr of PANEL_QUERIES) {
      expect(expr).toContain('job="quantum-ess", instance=~"$instance"');
      expect(toRunnableQuery(expr)).not.toMatch(/\$/);
    }
  });

  it('shows ESS ACTIVE red and INACTIVE green, and has the datasource and multi-host instance variables', () => {
    const dashboard = buildEssDashboard();
    // Sorted keys and no indentation, so the assertion does not depend on the builder's key order.
    const ess = compact(panelsOf().find((panel) => panel.title === 'ESS'));
    expect(ess).toContain('"0":{"color":"green","index":0,"text":"INACTIVE"}');
    expect(ess).toContain('"1":{"color":"red","index":1,"text":"ACTIVE"}');
    const variables = dashboard.templating?.list ?? [];
    expect(variables.find((v) => v.name === DATASOURCE_VARIABLE)).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.find((v) => v.name === 'instance')).toMatchObject({ type: 'query', multi: true, includeAll: true });
  });

  it('names every verdict word in the Verdict stat, keyed by its exit code as the query computes it', () => {
    const verdict = compact(panelsOf().find((panel) => panel.title === 'Verdict'));
    for (const [word, code] of Object.entries(VERDICT_EXIT_CODES)) {
      expect(verdict).toContain(`"${code}":{"color":`);
      expect(verdict).toContain(`"text":"${word.toUpperCase().replace('-', ' ')}"`);
      expect(verdict).toContain(`verdict=\\"${word}\\"}) * ${code}`);
    }
    expect(verdict).toContain('"0":{"color":"green","index":');
  });

  it('draws the 0.25 s target and the 2 s limit on the latency panel', () => {
    const latency = compact(panelsOf().find((panel) => panel.title === 'Last activation latency'));
    expect(latency).toContain('{"color":"orange","value":0.25}');
    expect(latency).toContain('{"color":"red","value":2}');
    expect(latency).toContain('"thresholdsStyle":{"mode":"dashed"}');
  });

  it('lists the exemptions in force with their unit and end, and the last drill with its time, mode and result', () => {
    const exemptions = compact(panelsOf().find((panel) => panel.title === 'Maintenance exemptions'));
    expect(exemptions).toContain('"type":"table"');
    expect(exemptions).toContain('ess_unit_exempt_until_seconds{job=\\"quantum-ess\\", instance=~\\"$instance\\"} * 1000 > 0');
    expect(exemptions).toContain('"renameByName":{"Value":"Until","instance":"Host","unit":"Unit"}');
    expect(exemptions).toContain('"options":"Until"},"properties":[{"id":"unit","value":"dateTimeAsIso"}]');

    const drill = compact(panelsOf().find((panel) => panel.title === 'Last drill'));
    expect(drill).toContain('ess_last_drill_timestamp_seconds');
    expect(drill).toContain('ess_last_drill_success');
    expect(drill).toContain('{"id":"merge","options":{}}');
    expect(drill).toContain('"renameByName":{"Value #A":"When","Value #B":"Result","instance":"Host","mode":"Mode"}');
    expect(drill).toContain('"0":{"color":"red","index":0,"text":"FAIL"}');
    expect(drill).toContain('"1":{"color":"green","index":1,"text":"PASS"}');

    const since = compact(panelsOf().find((panel) => panel.title === 'Since the last passed drill'));
    expect(since).toContain('{"color":"orange","value":691200}');
  });

  it('has a fleet row: hosts latched N of M, a per-host table, per-host latency and last trip, trip decisions by scope', () => {
    const panels = panelsOf();
    const row = panels.findIndex((panel) => panel.type === 'row' && panel.title === 'Fleet');
    const next = panels.findIndex((panel, index) => index > row && panel.type === 'row');
    expect(row).toBeGreaterThan(0);
    expect(panels.slice(row + 1, next).map((panel) => panel.title)).toEqual([
      'Hosts latched',
      'Hosts',
      'Last activation latency per host',
      'Last trip per host',
      'Trip decisions by scope',
    ]);

    const latched = compact(panels.find((panel) => panel.title === 'Hosts latched'));
    // latched and stopped: a latch violated by a running unit, or unknown, or a host down, is not counted
    expect(latched).toContain(
      'count((ess_active{job=\\"quantum-ess\\", instance=~\\"$instance\\"} == 1 and on (job, instance) ' +
        'up{job=\\"quantum-ess\\", instance=~\\"$instance\\"} == 1) unless on (job, instance) ' +
        '(ess_verdict{job=\\"quantum-ess\\", instance=~\\"$instance\\", verdict=~\\"violation|unknown\\"} == 1)) or vector(0)',
    );
    expect(latched).toContain('count(up{job=\\"quantum-ess\\", instance=~\\"$instance\\"}) or vector(0)');
    expect(latched).toContain('count(up{job=\\"quantum-ess\\", instance=~\\"$instance\\"} == 0) or vector(0)');

    const hosts = compact(panels.find((panel) => panel.title === 'Hosts'));
    expect(hosts).toContain('max by (instance, host, groups) (ess_identity_info{');
    expect(hosts).toContain('{"id":"merge","options":{}}');
    expect(hosts).toContain('"excludeByName":{"Time":true,"Value #A":true,"job":true}');
    expect(hosts).toContain(
      '"renameByName":{"Value #B":"Scrape","Value #C":"Latch","Value #D":"Verdict","Value #E":"Switch","Value #F":"Last activation","Value #G":"Latency","groups":"Groups","host":"Host","instance":"Instance"}',
    );
    for (const word of ['DOWN', 'UP', 'INACTIVE', 'ACTIVE', 'NOT ARMED', 'ARMED', 'VIOLATION', 'TAMPERED']) expect(hosts).toContain(`"text":"${word}"`);
    // every table query is instant, one row per instance
    const table = panels.find((panel) => panel.title === 'Hosts') as unknown as { targets: Array<{ instant?: boolean; format?: string }> };
    expect(table.targets).toHaveLength(7);
    for (const target of table.targets) expect(target).toMatchObject({ instant: true, format: 'table' });

    const latency = compact(panels.find((panel) => panel.title === 'Last activation latency per host'));
    expect(latency).toContain('group_left (host) ess_identity_info');
    expect(latency).toContain('"legendFormat":"{{host}}"');
    expect(latency).toContain('{"color":"red","value":2}');
    expect(compact(panels.find((panel) => panel.title === 'Trip decisions by scope'))).toContain('sum by (scope, decision) (increase(ess_webhook_scope_decisions_total{');
  });

  it('lets the host variable select several hosts or all of them', () => {
    const instance = (buildEssDashboard().templating?.list ?? []).find((v) => v.name === 'instance');
    expect(instance).toMatchObject({ multi: true, includeAll: true, allValue: '.+', query: 'label_values(up{job="quantum-ess"}, instance)' });
  });

  it('provisions a file provider pointing at a directory, and a Prometheus datasource example', async () => {
    const provider = parse(await readFile(new URL('../../../dashboards/provisioning/dashboards/quantum-ess.yml', import.meta.url), 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/quantum-ess' } });
    const datasources = parse(await readFile(new URL('../../../dashboards/provisioning/datasources/prometheus.example.yml', import.meta.url), 'utf8')) as {
      datasources: Array<{ type: string }>;
    };
    expect(datasources.datasources[0]?.type).toBe('prometheus');
  });
});
