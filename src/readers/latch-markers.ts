import { join } from 'node:path';
import { pathExists } from './path-exists.js';
import type { ReadHealth } from './read-health.js';
import { readBounded } from './read-bounded.js';

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
}

// The root side writes a line or a unit list; anything far larger is not its file.
const MAX_MARKER_BYTES = 16 * 1024;

/**
 * Reads the markers at every refresh (a stat and two small reads). STATE_DIR/latched is 0600 root,
 * but its directory is 0755, so stat works for the unprivileged exporter. A failed read keeps the
 * last known markers.
 */
export class LatchMarkersReader {
  private markers: LatchMarkers | null = null;
  private readonly latchedFile: string;

  constructor(
    stateDir: string,
    private readonly runtimeDir: string,
    private readonly health: ReadHealth,
  ) {
    this.latchedFile = join(stateDir, 'latched');
  }

  /** null while the markers have never been read successfully. */
  current(): LatchMarkers | null {
    return this.markers;
  }

  async read(): Promise<LatchMarkers | null> {
    try {
      const [latchedFile, persistProblem, resumePending] = await Promise.all([
        pathExists(this.latchedFile),
        contentOrEmpty(join(this.runtimeDir, 'persist-failed')),
        contentOrEmpty(join(this.runtimeDir, 'resume-pending')),
      ]);
      this.markers = { latchedFile, persistProblem, resumePending };
      this.health.succeeded('markers');
    } catch (error) {
      this.health.failed('markers', error);
    }
    return this.markers;
  }
}

async function contentOrEmpty(path: string): Promise<string> {
  try {
    return await readBounded(path, MAX_MARKER_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`cannot read ${path}`, { cause: error });
  }
}
