import { join } from 'node:path';
import { FileFormatError, parseJsonObject, schemaError } from './json-fields.js';
import { validateExemptionRecord } from '../contract/validators.generated.js';
import { pathExists } from '../io/path-exists.js';
import { readBounded } from '../io/read-bounded.js';

/**
 * A maintenance exemption as the controller records it in `/run/quantum-ess/exempt/<unit>`
 * (contract/README.md section 5): this one trading unit may run while the ESS stays active.
 */
export interface Exemption {
  readonly unit: string;
  /** Unix seconds. */
  readonly since: number;
  /** Unix seconds; from then on the file is no longer an exemption. */
  readonly until: number;
  readonly actor: string;
  readonly reason: string;
}

/** Below the runtime directory, one file per exempt unit, named after it. */
export const EXEMPT_SUBDIR = 'exempt';

// The controller writes one line of a few hundred bytes; anything far larger is not its file.
const MAX_EXEMPTION_BYTES = 16 * 1024;

/**
 * Parses the one JSON line of an exemption file named after `unit`. Anything that is not exactly the
 * controller's record is refused: a half-written or foreign file must never lift a unit's latch.
 */
export function parseExemption(content: string, unit: string): Exemption {
  const record = parseJsonObject(content);
  if (!validateExemptionRecord(record)) throw schemaError(validateExemptionRecord);
  // A record of another unit under this name is not this unit's exemption (a copy, a rename).
  if (record.unit !== unit) throw new FileFormatError(`unit: ${JSON.stringify(record.unit)} is not ${JSON.stringify(unit)}`);
  return record;
}

/** What the exemption files of the trading units said, and why the ones that could not be used failed. */
export interface ExemptionFiles {
  /** Per unit with a usable file, whether or not its `until` has passed. */
  readonly exemptions: ReadonlyMap<string, Exemption>;
  readonly errors: readonly Error[];
}

/**
 * Reads `<runtimeDir>/exempt/<unit>` of each trading unit. A missing file (or directory) is no
 * exemption; an unreadable or malformed one is reported and counts as no exemption either, so a
 * broken file can only make the verdict stricter.
 */
export async function readExemptionFiles(runtimeDir: string, units: readonly string[]): Promise<ExemptionFiles> {
  const outcomes = await Promise.all(
    units.map(async (unit): Promise<Exemption | Error | null> => {
      const path = join(runtimeDir, EXEMPT_SUBDIR, unit);
      try {
        // nearly always absent: no open that fails with an Error at every scrape
        if (!(await pathExists(path))) return null;
        return parseExemption(await readBounded(path, MAX_EXEMPTION_BYTES), unit);
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : new Error(`cannot use ${path}`, { cause: error });
      }
    }),
  );
  return {
    exemptions: new Map(outcomes.flatMap((outcome) => (outcome === null || outcome instanceof Error ? [] : [[outcome.unit, outcome] as const]))),
    errors: outcomes.filter((outcome): outcome is Error => outcome instanceof Error),
  };
}

/** The exemptions still in force at `nowSeconds`: `until` in the future (contract section 5). */
export function currentExemptions(exemptions: ReadonlyMap<string, Exemption>, nowSeconds: number): Map<string, Exemption> {
  return new Map([...exemptions].filter(([, exemption]) => exemption.until > nowSeconds));
}
