import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadHealth } from './read-health.js';

/** What the exporter uses from the controller's state.json (schema 1). */
export interface EssState {
  readonly lastActivation: {
    readonly triggerTime: number | null;
    /** null when not every trading unit stopped. */
    readonly latencySeconds: number | null;
  } | null;
  readonly lastDeactivationTime: number | null;
  readonly activationsTotal: Readonly<Record<string, number>>;
}

export const NEVER_ACTIVATED: EssState = { lastActivation: null, lastDeactivationTime: null, activationsTotal: {} };

// The controller writes a few hundred bytes; anything far larger is not its file.
const MAX_BYTES = 64 * 1024;

export class StateFormatError extends Error {
  override name = 'StateFormatError';
}

export function parseStateJson(text: string): EssState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StateFormatError('not valid JSON', { cause: error });
  }
  const root = object(json, '(top level)');
  if (root.schema !== 1) throw new StateFormatError(`schema: expected 1, got ${JSON.stringify(root.schema)}`);

  const activation = root.last_activation == null ? null : object(root.last_activation, 'last_activation');
  const deactivation = root.last_deactivation == null ? null : object(root.last_deactivation, 'last_deactivation');
  const totals = root.activations_total == null ? {} : object(root.activations_total, 'activations_total');
  const activationsTotal: Record<string, number> = {};
  for (const [source, count] of Object.entries(totals)) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      throw new StateFormatError(`activations_total.${source}: ${JSON.stringify(count)} is not a count`);
    }
    activationsTotal[source] = count;
  }
  return {
    lastActivation: activation && {
      triggerTime: optionalNumber(activation.trigger_time, 'last_activation.trigger_time'),
      latencySeconds: optionalNumber(activation.latency_seconds, 'last_activation.latency_seconds'),
    },
    lastDeactivationTime: deactivation && optionalNumber(deactivation.time, 'last_deactivation.time'),
    activationsTotal,
  };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StateFormatError(`${where}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function optionalNumber(value: unknown, where: string): number | null {
  if (value == null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new StateFormatError(`${where}: ${JSON.stringify(value)} is not a non-negative number`);
  }
  return value;
}

/**
 * Reads state.json at every scrape (it is tiny). A missing file means "never activated"; an unreadable
 * or malformed one counts as a read error and the last good content stays in use.
 */
export class StateFileReader {
  readonly path: string;
  private state: EssState | null = null;

  constructor(
    stateDir: string,
    private readonly health: ReadHealth,
  ) {
    this.path = join(stateDir, 'state.json');
  }

  /** null while the file has never been read successfully. */
  current(): EssState | null {
    return this.state;
  }

  async read(): Promise<EssState | null> {
    try {
      this.state = parseStateJson(await readBounded(this.path));
      this.health.succeeded('state');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.state = NEVER_ACTIVATED;
        this.health.succeeded('state');
      } else {
        this.health.failed('state', new Error(`cannot use ${this.path}`, { cause: error }));
      }
    }
    return this.state;
  }
}

async function readBounded(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_BYTES) throw new StateFormatError(`${size} bytes, larger than ${MAX_BYTES}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
