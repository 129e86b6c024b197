import { Counter, Gauge, type Registry } from 'prom-client';
import { ACTION_RESULTS, type ActionResult } from '../readers/action-results.js';

/**
 * The on-trip actions' last results (STATE_DIR/actions/NAME.json, contract/README.md section 9): one
 * series per result word, 1 on the last one, like ess_last_activation_unit_result, so an alert can
 * match `result=~"failed|timeout|refused"` without a code table. Absent for an action never run.
 */
export function registerActionResultsMetrics(registry: Registry, results: () => readonly ActionResult[]): void {
  const registers = [registry];

  new Gauge({
    name: 'ess_action_last_result',
    help: 'On-trip actions: 1 on the result of each action\'s last run (verified, unverified, checked, failed, timeout, refused, aborted), 0 on the others.',
    labelNames: ['action', 'result'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of results()) for (const word of ACTION_RESULTS) this.set({ action: r.action, result: word }, r.result === word ? 1 : 0);
    },
  });

  new Gauge({
    name: 'ess_action_duration_seconds',
    help: 'On-trip actions: how long each action\'s last run took, its start to its end (or its kill at ACTION_TIMEOUT_SEC).',
    labelNames: ['action'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of results()) this.set({ action: r.action }, r.duration_seconds);
    },
  });

  new Gauge({
    name: 'ess_action_last_timestamp_seconds',
    help: 'On-trip actions: Unix time each action\'s last run ended.',
    labelNames: ['action'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of results()) this.set({ action: r.action }, r.finished);
    },
  });

  new Counter({
    name: 'ess_action_runs_total',
    help: 'On-trip actions: runs of each action by result, as the controller counts them in its result file.',
    labelNames: ['action', 'result'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of results()) for (const word of ACTION_RESULTS) this.inc({ action: r.action, result: word }, r.counts[word] ?? 0);
    },
  });
}
