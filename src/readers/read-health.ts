import { describe, type Log } from '../io/log.js';

/**
 * flag: FLAG_FILE; state: state.json; systemd: the D-Bus subscription and systemd's answers; asserts:
 * the trading units' Asserts and the switch's wiring (the latch drop-in as systemd applies it); cgroup: cgroup.events of the trading units; markers: STATE_DIR/latched and the
 * runtime markers in /run/quantum-ess, maintenance exemptions included; drill: STATE_DIR/drill.json.
 */
export const READ_SOURCES = ['flag', 'state', 'systemd', 'asserts', 'cgroup', 'markers', 'drill'] as const;
export type ReadSource = (typeof READ_SOURCES)[number];

export interface SourceHealth {
  ok: boolean;
  errors: number;
  lastError: string | null;
  lastSuccessSeconds: number | null;
}

/**
 * Outcome of the latest read per source. Logs only on a change between working and failing, so that a
 * broken source does not flood the journal at scrape rate.
 */
export class ReadHealth {
  readonly #sources: Record<ReadSource, SourceHealth>;
  readonly #log: Log;
  readonly #now: () => number;

  constructor(log: Log, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
    const initial = (): SourceHealth => ({ ok: false, errors: 0, lastError: 'not read yet', lastSuccessSeconds: null });
    this.#sources = Object.fromEntries(READ_SOURCES.map((source) => [source, initial()])) as Record<ReadSource, SourceHealth>;
  }

  succeeded(source: ReadSource): void {
    const health = this.#sources[source];
    if (!health.ok && health.errors > 0) this.#log(`${source}: reading works again`);
    health.ok = true;
    health.lastError = null;
    health.lastSuccessSeconds = this.#now() / 1000;
  }

  failed(source: ReadSource, error: unknown): void {
    const health = this.#sources[source];
    const message = describe(error);
    if (health.ok || health.lastError !== message) this.#log(`${source}: read failed, serving last known values: ${message}`);
    health.ok = false;
    health.errors += 1;
    health.lastError = message;
  }

  get(source: ReadSource): Readonly<SourceHealth> {
    return this.#sources[source];
  }

  allOk(): boolean {
    return READ_SOURCES.every((source) => this.#sources[source].ok);
  }
}
