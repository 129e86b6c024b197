import { constants } from 'node:fs';
import { type FileHandle, open, rename, truncate, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { printableAscii } from './printable.js';
import type { TripReserve } from './trip-reserve.js';

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

/**
 * How the request reached incoming/: `complete` as written; the fallbacks, each of which still latches
 * (a request latches by its presence) but lost something, are taken when the spool is full or tmp/
 * unusable: `emptied` (the staged file moved in without its content: no space for it), `reserve` (one
 * of the receiver's spare requests, rewritten in place: no space or inode needed), `direct` (created
 * in incoming/ itself, content best effort).
 */
export type TripRequestStored = 'complete' | 'emptied' | 'reserve' | 'direct';

export interface WrittenTripRequest {
  /** Relative to the spool directory, e.g. `incoming/1732470000000-1a2b3c-9f8e7d6c5b4a`. */
  readonly path: string;
  /**
   * False when incoming/ could not be opened for fsync: it is mode 1730 (write and search only), so
   * the exporter cannot. The request file's own fsync after the rename then has to carry the rename,
   * which ext4 and xfs do (it commits the journal transaction holding it); POSIX does not promise it.
   */
  readonly directorySynced: boolean;
  readonly stored: TripRequestStored;
  /** Why a fallback was taken (absent when complete). */
  readonly problem?: string;
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

/** Where a staged write stopped; `staged`: tmp/NAME still exists (not renamed). */
class StagingError extends TripRequestError {
  constructor(
    message: string,
    readonly staged: boolean,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Writes the request into tmp/ (new file, mode 0640), fsyncs it and renames it into incoming/, so that
 * the root side's path unit only ever sees complete requests. When that fails before the rename (the
 * spool full, tmp/ unusable), the request must still latch, so it is delivered less than whole: the
 * staged file moved in empty, else one of the reserve's spare requests, else a file created in
 * incoming/ itself (`stored` says which, `problem` why). Resolves once a request is in incoming/;
 * rejects with a TripRequestError (cause kept) if none may have arrived.
 */
export async function writeTripRequest(spoolDir: string, request: TripRequest, reserve?: TripReserve): Promise<WrittenTripRequest> {
  const name = tripRequestName(request.fingerprint, Date.now());
  const content = Buffer.from(tripRequestContent(request.reason, request.scope), 'ascii');
  const into = join(spoolDir, 'incoming', name);
  try {
    await deliverStaged(spoolDir, name, content, request.receivedAtMs);
  } catch (error) {
    if (!(error instanceof StagingError)) throw error;
    const problem = error.message;
    const fallbacks: [TripRequestStored, () => Promise<boolean>][] = [
      ['emptied', () => moveStagedEmpty(join(spoolDir, 'tmp', name), into, error.staged)],
      ['reserve', () => useReserve(reserve, into, content, request.receivedAtMs)],
      ['direct', () => createInIncoming(into, content)],
    ];
    const failures: string[] = [];
    for (const [stored, attempt] of fallbacks) {
      try {
        if (await attempt()) return { path: `incoming/${name}`, directorySynced: false, stored, problem };
      } catch (fallbackError) {
        failures.push(`${stored}: ${(fallbackError as Error).message}`);
      }
    }
    throw new TripRequestError(`${problem}; no fallback could deliver it either (${failures.join('; ') || 'no reserve'})`, { cause: error });
  }
  return { path: `incoming/${name}`, directorySynced: await syncDirectory(join(spoolDir, 'incoming'), name), stored: 'complete' };
}

/** The usual path: tmp/NAME written whole, fsynced, renamed into incoming/, fsynced again. */
async function deliverStaged(spoolDir: string, name: string, content: Buffer, receivedAtMs: number | undefined): Promise<void> {
  const staged = join(spoolDir, 'tmp', name);
  let file: FileHandle;
  try {
    file = await open(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  } catch (error) {
    throw new StagingError(`cannot create tmp/${name}: ${(error as Error).message}`, false, { cause: error });
  }
  let renamed = false;
  try {
    // The service's UMask=0077 would leave 0600; the contract says 0640 (root reads it either way).
    await file.chmod(0o640);
    await file.writeFile(content);
    if (receivedAtMs !== undefined) await file.utimes(receivedAtMs / 1000, receivedAtMs / 1000);
    await file.sync();
    await rename(staged, join(spoolDir, 'incoming', name));
    renamed = true;
    await file.sync();
  } catch (error) {
    // after the rename the request is in incoming/: only its fsync failed, and no fallback applies
    if (renamed) throw new TripRequestError(`fsync of incoming/${name} after the rename failed: ${(error as Error).message}`, { cause: error });
    // systemd's ReadWritePaths= bind-mounts each path it lists on itself: listing tmp/ and incoming/
    // separately puts them on two mounts, and rename() between mounts fails even on one filesystem.
    const hint = (error as NodeJS.ErrnoException).code === 'EXDEV' ? ' (tmp/ and incoming/ are on different mounts: give the service ReadWritePaths= on the spool directory itself)' : '';
    throw new StagingError(`writing tmp/${name} or moving it into incoming/ failed: ${(error as Error).message}${hint}`, true, { cause: error });
  } finally {
    await file.close().catch(() => undefined);
  }
}

/**
 * The staged file, emptied (its pages freed), moved into incoming/: it latches by its presence and
 * needs no space; the root side records it as a request without a reason. Removed when that fails
 * too: a staged file never reaches the controller, and leaving it would only fill tmp/.
 */
async function moveStagedEmpty(staged: string, into: string, exists: boolean): Promise<boolean> {
  if (!exists) return false;
  try {
    await truncate(staged, 0);
    await rename(staged, into);
    return true;
  } catch (error) {
    await unlink(staged).catch(() => undefined);
    throw error;
  }
}

/** A spare request of the reserve, its page rewritten with this request (no new page), moved in. */
async function useReserve(reserve: TripReserve | undefined, into: string, content: Buffer, receivedAtMs: number | undefined): Promise<boolean> {
  const problems: string[] = [];
  for (let path = reserve?.take(); path !== undefined; path = reserve?.take()) {
    let file: FileHandle;
    try {
      file = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch (error) {
      problems.push((error as Error).message); // gone (removed by the root side): try the next one
      continue;
    }
    try {
      // no O_TRUNC: the page stays allocated; what fails here leaves the reserve's own valid text
      await file.write(content, 0, content.length, 0).catch(() => undefined);
      await file.truncate(content.length).catch(() => undefined);
      if (receivedAtMs !== undefined) await file.utimes(receivedAtMs / 1000, receivedAtMs / 1000).catch(() => undefined);
      await file.sync().catch(() => undefined);
    } finally {
      await file.close().catch(() => undefined);
    }
    await rename(path, into);
    void reserve?.fill();
    return true;
  }
  if (problems.length > 0) throw new Error(`no usable reserve file (${problems.join('; ')})`);
  return false;
}

/** Created in incoming/ itself: one inode, no rename; the content is best effort (it may not fit). */
async function createInIncoming(into: string, content: Buffer): Promise<boolean> {
  const file = await open(into, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  try {
    await file.chmod(0o640).catch(() => undefined);
    await file.writeFile(content).catch(() => file.truncate(0).catch(() => undefined));
    await file.sync().catch(() => undefined);
  } finally {
    await file.close().catch(() => undefined);
  }
  return true;
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
