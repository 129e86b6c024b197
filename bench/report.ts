// One row per measured figure, in the form `npm run bench` (bench/run.ts) gathers into its one table.
import { appendFileSync } from 'node:fs';

export interface BenchRow {
  readonly figure: string;
  /** The ESS's value, e.g. "32.3 / 45.2" (p50 / p99 ms). */
  readonly ess: string;
  /** What it is measured against in the same run (a floor, node_exporter), or empty. */
  readonly reference: string;
  readonly goal: string;
  /** "met", "NOT MET (why)" or "" for a figure without a goal. */
  readonly result: string;
}

export const verdict = (met: boolean, detail = ''): string => `${met ? 'met' : 'NOT MET'}${detail ? ` (${detail})` : ''}`;

/** Prints this bench's own table, and hands its rows to bench/run.ts when it runs the bench. */
export function report(title: string, rows: readonly BenchRow[]): void {
  console.log(`\n${title}`);
  console.table(Object.fromEntries(rows.map(({ figure, ...rest }) => [figure, rest])));
  const file = process.env.ESS_BENCH_ROWS_FILE;
  if (file) for (const row of rows) appendFileSync(file, `${JSON.stringify({ bench: title, ...row })}\n`);
}
