import { Gauge, type Registry } from 'prom-client';
import type { Populated } from '../readers/cgroup.js';
import { type Guard, VERDICT_WORDS } from '../verdict/latch-verdict.js';
import type { LatchView } from '../verdict/observed-verdict.js';
import { optionalGauge } from './optional-metric.js';

// Absent (undefined) while unknown: a 0 would claim "no process" or "not guarded" without knowing.
const GUARDED: Readonly<Record<Guard, number | undefined>> = { yes: 1, absent: 1, no: 0, unknown: undefined };
const POPULATED: Readonly<Record<Populated, number | undefined>> = { yes: 1, no: 0, unknown: undefined };

/** The verdict of contract/README.md section 1 and the per-unit facts behind it. */
export function registerVerdictMetrics(registry: Registry, latch: () => LatchView): void {
  const registers = [registry];

  new Gauge({
    name: 'ess_verdict',
    help: 'The ESS verdict (as ess_controller.sh status): 1 on the current word, 0 on the others; unknown until everything was read once.',
    labelNames: ['verdict'] as const,
    registers,
    collect() {
      const current = latch().verdict?.verdict ?? 'unknown';
      for (const verdict of VERDICT_WORDS) this.set({ verdict }, verdict === current ? 1 : 0);
    },
  });

  optionalGauge(
    registry,
    'ess_active',
    'Whether the ESS is latched (1): the latch flag or the persisted latch exists; 0 when neither does.',
    () => flagValue(latch().latched),
  );
  optionalGauge(
    registry,
    'ess_switch_armed',
    'Whether a touch of the flag or a trip request would stop trading (1): both ESS path units active, no trigger stuck, every switch unit loaded as installed, every trading unit guarded (except one under a maintenance exemption).',
    () => flagValue(latch().verdict?.armed),
  );
  optionalGauge(
    registry,
    'ess_latch_violation',
    'Trading units running, holding processes or not guarded by systemd while the ESS is latched (must be 0); units under a maintenance exemption are left out.',
    () => latch().verdict?.violations,
  );

  new Gauge({
    name: 'ess_unit_guarded',
    help: 'Whether systemd refuses to start each trading unit while latched (1; also for a unit not installed or masked) or would start it (0); absent while unknown.',
    labelNames: ['unit'] as const,
    registers,
    collect() {
      this.reset();
      for (const [unit, { guard }] of latch().verdict?.units ?? []) setKnown(this, unit, GUARDED[guard]);
    },
  });

  new Gauge({
    name: 'ess_unit_cgroup_populated',
    help: "Whether each trading unit's cgroup holds processes (1) or not (0), whatever its state says; absent while unknown.",
    labelNames: ['unit'] as const,
    registers,
    collect() {
      this.reset();
      for (const [unit, { populated }] of latch().verdict?.units ?? []) setKnown(this, unit, POPULATED[populated]);
    },
  });
}

function setKnown(gauge: Gauge<'unit'>, unit: string, value: number | undefined): void {
  if (value !== undefined) gauge.set({ unit }, value);
}

function flagValue(value: boolean | null | undefined): number | null {
  return value == null ? null : Number(value);
}
