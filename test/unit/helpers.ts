import {
  type ExemptionRecord,
  HOST_MONITOR,
  HOST_TRADING,
} from '../../sandbox/fake-host.js';

export {
  assertsText,
  createFakeHost,
  type ExemptionRecord,
  exporterShowOutput,
  type FakeHost,
  showOutput,
  SWITCH,
  type UnitFixture,
} from '../../sandbox/fake-host.js';

/** The units of the fake host (sandbox/fake-host.ts): two trading and two monitor units. */
export const TRADING = HOST_TRADING;
export const MONITOR = HOST_MONITOR;

/** state.json as the controller writes it (contract/README.md section 3). */
export const STATE_EXAMPLE = {
  schema: 2,
  active: true,
  flag_id: '20261124T180217Z-18b2521c',
  updated_at: 1795543337.49,
  last_activation: {
    id: '20261124T180217Z-18b2521c',
    source: 'cli',
    actor: 'root',
    reason: 'r1',
    trigger_time: 1795543337.41,
    all_stopped_time: 1795543337.43,
    latency_seconds: 0.018969,
    result: 'ok',
    units: [
      { unit: 'quantum-ai-engine.service', result: 'stopped', state: 'inactive', stop_seconds: 0.012 },
      { unit: 'quantum-execution.service', result: 'leftovers-killed', state: 'inactive', stop_seconds: 0.018 },
    ],
  },
  last_deactivation: { time: 1795543333.18, actor: 'root', reason: 'drill over', result: 'ok', detail: '' },
  last_tamper: { time: 1795543300.5, detail: '/run/quantum/ESS_ON removed outside the controller' },
  activations_total: { cli: 4, path: 4 },
  tamper_total: 1,
  leftover_kills_total: 2,
};

export function exemptionRecord(unit: string, until: number, since = until - 3600): ExemptionRecord {
  return { unit, since, until, actor: 'root', reason: 'deploy v2' };
}

/** drill.json as proof_ess.sh writes it (contract/README.md section 5). */
export const DRILL_EXAMPLE = {
  schema: 1,
  last: { time: 1795656000.5, mode: 'dry-run', result: 'pass', checks: 9, failed: 0 },
  last_pass: { 'dry-run': 1795656000.5, full: null },
};

export const silentLog = (): void => {};

/** One sample value from Prometheus text output, or undefined when the series is absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
