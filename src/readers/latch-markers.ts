import { join } from 'node:path';
import { type Exemption, readExemptionFiles } from './exemptions.js';
import { pathExists } from '../io/path-exists.js';
import type { ReadHealth } from './read-health.js';
import { readBounded } from '../io/read-bounded.js';

/** Where the root side keeps its runtime markers (contract/README.md section 4). */
export const DEFAULT_RUNTIME_DIR = '/run/quantum-ess';

/** The root side's latch bookkeeping besides the flag (contract/README.md section 1). */
export interface LatchMarkers {
  /** STATE_DIR/latched exists: the latch that survives a reboot. */
  readonly latchedFile: boolean;
  /** Content of persist-failed: what the last activation could not write (empty: nothing). */
  readonly persistProblem: string;
  /** Content of resume-pending: units a deactivate had not started yet when it stopped (empty: none). */
  readonly resumePending: string;
  /** Content of config-problem: why the installed configuration snapshot did not check out (empty: it did). */
  readonly configProblem: string;
}

// The root side writes a line or a unit list; anything far larger is not its file.
const MAX_MARKER_BYTES = 16 * 1024;

/**
 * Reads the markers at every refresh (a stat and two small reads), and the exemption file of each
 * trading unit. STATE_DIR/latched is 0600 root, but its directory is 0755, so stat works for the
 * unprivileged exporter. A failed read keeps the last known markers; an exemption file that cannot be
 * used counts as no exemption (never keep an old one alive). Either fails the `markers` source.
 */
export class LatchMarkersReader {
  readonly #latchedFile: string;
  readonly #runtimeDir: string;
  readonly #tradingUnits: readonly string[];
  readonly #health: ReadHealth;
  #markers: LatchMarkers | null = null;
  #exemptionFiles: ReadonlyMap<string, Exemption> | null = null;

  constructor(stateDir: string, runtimeDir: string, tradingUnits: readonly string[], health: ReadHealth) {
    this.#latchedFile = join(stateDir, 'latched');
    this.#runtimeDir = runtimeDir;
    this.#tradingUnits = tradingUnits;
    this.#health = health;
  }

  /** null while the markers have never been read successfully. */
  current(): LatchMarkers | null {
    return this.#markers;
  }

  /**
   * The exemption files of the latest read, expired ones included (whether one is in force depends on
   * the time it is asked at: see currentExemptions); null before the first read.
   */
  exemptions(): ReadonlyMap<string, Exemption> | null {
    return this.#exemptionFiles;
  }

  async read(): Promise<LatchMarkers | null> {
    const [markers, exemptions] = await Promise.all([this.#readMarkers(), readExemptionFiles(this.#runtimeDir, this.#tradingUnits)]);
    this.#exemptionFiles = exemptions.exemptions;
    if (!(markers instanceof Error)) this.#markers = markers;
    // One outcome per read, the markers' own failure first: two reports would leave whichever came last.
    const failure = markers instanceof Error ? markers : exemptions.errors[0];
    if (failure === undefined) this.#health.succeeded('markers');
    else this.#health.failed('markers', failure);
    return this.#markers;
  }

  async #readMarkers(): Promise<LatchMarkers | Error> {
    try {
      const [latchedFile, persistProblem, resumePending, configProblem] = await Promise.all([
        pathExists(this.#latchedFile),
        contentOrEmpty(join(this.#runtimeDir, 'persist-failed')),
        contentOrEmpty(join(this.#runtimeDir, 'resume-pending')),
        contentOrEmpty(join(this.#runtimeDir, 'config-problem')),
      ]);
      return { latchedFile, persistProblem, resumePending, configProblem };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error), { cause: error });
    }
  }
}

async function contentOrEmpty(path: string): Promise<string> {
  try {
    // the markers are nearly always absent: no open that fails with an Error at every scrape
    if (!(await pathExists(path))) return '';
    return await readBounded(path, MAX_MARKER_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`cannot read ${path}`, { cause: error });
  }
}
