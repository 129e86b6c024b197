import { readFileSync } from 'node:fs';
import type { StateFile } from '../../sandbox/sandbox.js';
import {
  type ExemptionRecord,
  HOST_MONITOR,
  HOST_TRADING,
} from '../../sandbox/fake-host.js';

export {
  assertsText,
  latchAssertsText,
  createFakeHost,
  type ExemptionRecord,
  exporterUnits,
  type FakeHost,
  SWITCH,
  type UnitFixture,
} from '../../sandbox/fake-host.js';

/** The units of the fake host (sandbox/fake-host.ts): two trading and two monitor units. */
export const TRADING = HOST_TRADING;
export const MONITOR = HOST_MONITOR;

/** state.json as the controller writes it (contract/README.md section 3): the contract's own example. */
export const STATE_EXAMPLE = JSON.parse(
  readFileSync(new URL('../../contract/fixtures/state/valid-full.json', import.meta.url), 'utf8'),
) as { readonly [K in keyof StateFile]: NonNullable<StateFile[K]> } & { readonly updated_at: number };

export function exemptionRecord(unit: string, until: number, since = until - 3600): ExemptionRecord {
  return { unit, since, until, actor: 'root', reason: 'deploy v2' };
}

/** drill.json as proof_ess.sh writes it (contract/README.md section 5): the contract's own example. */
export const DRILL_EXAMPLE = JSON.parse(
  readFileSync(new URL('../../contract/fixtures/drill/valid-dry-run-pass.json', import.meta.url), 'utf8'),
) as {
  readonly schema: number;
  readonly last: { readonly time: number; readonly mode: string; readonly result: string; readonly checks: number; readonly failed: number };
  readonly last_pass: { readonly 'dry-run': number | null; readonly full: number | null };
};

export const silentLog = (): void => {};

/** One sample value from Prometheus text output, or undefined when the series is absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
