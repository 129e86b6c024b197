import { Gauge, type Registry } from 'prom-client';
import { DRILL_MODES, type DrillRecord } from '../readers/drill-file.js';

/**
 * The drill record proof_ess.sh keeps in STATE_DIR/drill.json (contract/README.md section 5). Every
 * series is absent while there is nothing to show: a 0 would claim a drill in 1970, or a failed one.
 */
export function registerDrillMetrics(registry: Registry, drill: () => DrillRecord | null): void {
  const registers = [registry];

  new Gauge({
    name: 'ess_last_drill_timestamp_seconds',
    help: 'Unix time of the last ESS drill (proof_ess.sh), labelled with its mode (dry-run or full); absent while none was recorded.',
    labelNames: ['mode'] as const,
    registers,
    collect() {
      this.reset();
      const last = drill()?.last;
      if (last) this.set({ mode: last.mode }, last.time);
    },
  });

  new Gauge({
    name: 'ess_last_drill_success',
    help: 'Whether the last ESS drill passed (1) or failed (0), labelled with its mode; absent while none was recorded.',
    labelNames: ['mode'] as const,
    registers,
    collect() {
      this.reset();
      const last = drill()?.last;
      if (last) this.set({ mode: last.mode }, last.result === 'pass' ? 1 : 0);
    },
  });

  new Gauge({
    name: 'ess_last_drill_pass_timestamp_seconds',
    help: 'Unix time an ESS drill of each mode (dry-run, full) last passed; absent for a mode that never passed.',
    labelNames: ['mode'] as const,
    registers,
    collect() {
      this.reset();
      const lastPass = drill()?.lastPass;
      for (const mode of DRILL_MODES) {
        const time = lastPass?.[mode];
        if (time != null) this.set({ mode }, time);
      }
    },
  });
}
