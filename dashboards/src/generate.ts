/**
 * Writes dashboards/generated/ess.json from ess-dashboard.ts.
 *   npx tsx dashboards/src/generate.ts           write the file
 *   npx tsx dashboards/src/generate.ts --check   exit 1 if the committed file is out of date
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildEssDashboard } from './ess-dashboard.js';
import { stableStringify } from './stable-json.js';

export const GENERATED_DASHBOARD = fileURLToPath(new URL('../generated/ess.json', import.meta.url));

export function renderEssDashboard(): string {
  return stableStringify(buildEssDashboard());
}

async function main(args: readonly string[]): Promise<number> {
  const rendered = renderEssDashboard();
  if (args.includes('--check')) {
    const committed = await readFile(GENERATED_DASHBOARD, 'utf8').catch(() => '');
    if (committed === rendered) return 0;
    process.stderr.write(`${GENERATED_DASHBOARD} is out of date: run npx tsx dashboards/src/generate.ts\n`);
    return 1;
  }
  await writeFile(GENERATED_DASHBOARD, rendered);
  process.stdout.write(`wrote ${GENERATED_DASHBOARD}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
