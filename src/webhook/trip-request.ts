import { constants } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { printableAscii } from './printable.js';

/** Keeps a request far below the 4096 bytes the root side (claim_trip_requests) accepts. */
export const MAX_REASON_LENGTH = 200;

/** What the controller records as the activation's source and reason. */
export interface TripRequest {
  readonly reason: string;
  /** Part of the file name, so that the journal and audit trail can be matched to the alert. */
  readonly fingerprint: string;
  /** `fleet`, `unscoped`, `group:NAME` or `host:NAME` (src/webhook/trip-scope.ts); default fleet. */
  readonly scope?: string;
  /**
   * When the webhook request arrived (ms since the epoch, fractional): the file's mtime, which the
   * controller records as the activation's trigger instant. Default: when the file is written.
   */
  readonly receivedAtMs?: number;
}

export interface WrittenTripRequest {
  /** Relative to the spool directory, e.g. `incoming/1732470000000-1a2b3c-9f8e7d6c5b4a`. */
  readonly path: string;
  /**
   * False when incoming/ could not be opened for fsync: it is mode 1730 (write and search only), so
   * the exporter cannot. The request file's own fsync after the rename then has to carry the rename,
   * which ext4 and xfs do (it commits the journal transaction holding it); POSIX does not promise it.
   */
  readonly directorySynced: boolean;
}

export class TripRequestError extends Error {
  override name = 'TripRequestError';
}

/** The scope line's rule; the controller checks the same and records anything else as `invalid`. */
export const TRIP_REQUEST_SCOPE = /^(fleet|unscoped|(host|group):[A-Za-z0-9][A-Za-z0-9._-]{0,62})$/;

/** The lines the controller reads; anything unsafe in the reason is already replaced. */
export function tripRequestContent(reason: string, scope = 'fleet'): string {
  if (!TRIP_REQUEST_SCOPE.test(scope)) throw new TripRequestError(`scope ${JSON.stringify(printableAscii(scope, 80))} is not fleet, unscoped, host:NAME or group:NAME`);
  return `source=alertmanager\nscope=${scope}\nreason=${printableAscii(reason, MAX_REASON_LENGTH)}\n`;
}

/** Unique, no leading dot, [A-Za-z0-9._-] only, as the controller's spool contract requires. */
export function tripRequestName(fingerprint: string, nowMs: number): string {
  const tag = fingerprint.replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || 'nofingerprint';
  return `${nowMs}-${tag}-${randomBytes(6).toString('hex')}`;
}

/**
 * Writes the request into tmp/ (new file, mode 0640), fsyncs it and renames it into incoming/, so that
 * the root side's path unit only ever sees complete requests. Resolves once the request is as durable
 * as the exporter can make it; rejects with a TripRequestError (cause kept) if it may not have arrived.
 */
export async function writeTripRequest(spoolDir: string, request: TripRequest): Promise<WrittenTripRequest> {
  const name = tripRequestName(request.fingerprint, Date.now());
  const staged = join(spoolDir, 'tmp', name);
  const delivered = join(spoolDir, 'incoming', name);
  const content = Buffer.from(tripRequestContent(request.reason, request.scope), 'ascii');

  let file: FileHandle;
  try {
    file = await open(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  } catch (error) {
    throw new TripRequestError(`cannot create tmp/${name}: ${(error as Error).message}`, { cause: error });
  }
  let renamed = false;
  try {
    // The service's UMask=0077 would leave 0600; the contract says 0640 (root reads it either way).
    await file.chmod(0o640);
    await file.writeFile(content);
    if (request.receivedAtMs !== undefined) {
      const seconds = request.receivedAtMs / 1000;
      await file.utimes(seconds, seconds);
    }
    await file.sync();
    await rename(staged, delivered);
    renamed = true;
    await file.sync();
  } catch (error) {
    const step = renamed ? `fsync of incoming/${name} after the rename` : `writing tmp/${name} or moving it into incoming/`;
    // systemd's ReadWritePaths= bind-mounts each path it lists on itself: listing tmp/ and incoming/
    // separately puts them on two mounts, and rename() between mounts fails even on one filesystem.
    const hint = (error as NodeJS.ErrnoException).code === 'EXDEV' ? ' (tmp/ and incoming/ are on different mounts: give the service ReadWritePaths= on the spool directory itself)' : '';
    throw new TripRequestError(`${step} failed: ${(error as Error).message}${hint}`, { cause: error });
  } finally {
    await file.close().catch(() => undefined);
    // A staged file never reaches the controller; leaving it would only fill tmp/.
    if (!renamed) await unlink(staged).catch(() => undefined);
  }
  return { path: `incoming/${name}`, directorySynced: await syncDirectory(join(spoolDir, 'incoming'), name) };
}

async function syncDirectory(dir: string, name: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return false;
    throw new TripRequestError(`cannot open incoming/ to fsync incoming/${name}: ${(error as Error).message}`, { cause: error });
  }
  try {
    await handle.sync();
    return true;
  } catch (error) {
    throw new TripRequestError(`fsync of incoming/ after incoming/${name} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}
