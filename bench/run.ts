// npm run bench: every benchmark on real systemd, one after the other (they must not share the CPU),
// then one table of every figure with its reference, goal and result. Each bench's own output goes to
// bench/.cache/<name>.log. Names given run only those: npm run bench -- fleet
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './report.js';

const ALL = ['activation', 'exporter', 'webhook', 'fleet', 'regex', 'package'] as const;
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(ALL as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
  process.exit(64);
}
const BENCHES = wanted.length === 0 ? ALL : ALL.filter((name) => wanted.includes(name));
const here = import.meta.dirname;
const cache = join(here, '.cache');
mkdirSync(cache, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'ess-bench-'));
const rowsFile = join(scratch, 'rows.jsonl');
let failed = false;
for (const name of BENCHES) {
  const log = join(cache, `${name}.log`);
  console.error(`bench ${name} ... (output in ${log})`);
  const out = openSync(log, 'w');
  const run = spawnSync('npx', ['tsx', join(here, `${name}.bench.ts`)], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ESS_BENCH_ROWS_FILE: rowsFile },
  });
  if (run.status !== 0) {
    failed = true;
    console.error(`bench ${name} FAILED (exit ${run.status ?? run.signal}); see ${log}`);
  }
}
// a bench that failed before its report leaves no rows
const rows = (existsSync(rowsFile) ? readFileSync(rowsFile, 'utf8') : '')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as BenchRow & { bench: string });
rmSync(scratch, { recursive: true, force: true });
console.log('\nQuantum ESS benchmarks, real systemd 252 in a sandbox, each figure measured with its reference in the same run');
console.table(rows.map(({ figure, ess, reference, goal, result }) => ({ figure, ESS: ess, reference, goal, result })));
process.exitCode = failed ? 1 : 0;
