import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readdir, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * One page of tmpfs: a reserve file holds it, so a request written over it later needs no new page
 * and no new inode, and the root side (4096 bytes at most) still reads it whole.
 */
export const RESERVE_FILE_BYTES = 4096;
/** Spare requests kept ready; the root side keeps at most 16 per spool (older ones are orphans). */
export const RESERVE_TARGET = 4;
/** What the root side keeps (SPOOL_RESERVE_MAX): at start, the receiver adopts up to as many. */
export const RESERVE_ADOPT_MAX = 16;
const RESERVE_NAME = /^r-[0-9a-f]{16}$/;

/**
 * What a reserve file says if nothing better can be written over it: a valid request (no scope line,
 * which the root side records as `unknown`), padded with a comment line to one page.
 */
export function reserveContent(): Buffer {
  const head = 'source=alertmanager\nreason=trip request from the receiver\'s reserve: the spool was full\n';
  return Buffer.from(`${head}#${'-'.repeat(RESERVE_FILE_BYTES - head.length - 2)}\n`, 'ascii');
}

/**
 * The receiver's spare trip requests in SPOOL_DIR/reserve/: complete one-page files it created while the
 * spool had room. When the spool is full (bytes or inodes, whoever filled it), renaming one of them into
 * incoming/ still latches: a rename needs no space. reserve/ belongs to the receiver's user (mode 0700):
 * no other member of the ESS group can add to it or take its inodes' place, and a restarted receiver
 * adopts the spares its predecessor made, so a spool filled while it restarts leaves the trips their
 * reserve. The root side removes what is not the receiver's.
 */
export class TripReserve {
  readonly #dir: string;
  readonly #target: number;
  readonly #names: string[] = [];
  #filling: Promise<void> | undefined;
  #adopted = false;
  #lastProblem = '';

  constructor(spoolDir: string, target = RESERVE_TARGET) {
    this.#dir = join(spoolDir, 'reserve');
    this.#target = target;
  }

  /** Reserve files ready now. */
  get size(): number {
    return this.#names.length;
  }

  /** Why the last fill stopped short ('' when the reserve is full). */
  get problem(): string {
    return this.#lastProblem;
  }

  /** Creates reserve files up to the target; one fill at a time; never rejects. */
  fill(): Promise<void> {
    this.#filling ??= this.#fillNow().finally(() => {
      this.#filling = undefined;
    });
    return this.#filling;
  }

  /** Resolves once no fill is writing in reserve/ (at shutdown: no file is left half-made). */
  async settled(): Promise<void> {
    await this.#filling;
  }

  /** The path of a reserve file, now no longer in the reserve; undefined when it is empty. */
  take(): string | undefined {
    const name = this.#names.shift();
    return name === undefined ? undefined : join(this.#dir, name);
  }

  async #fillNow(): Promise<void> {
    if (!this.#adopted) {
      this.#adopted = true;
      await this.#adopt();
    }
    while (this.#names.length < this.#target) {
      const name = `r-${randomBytes(8).toString('hex')}`;
      const path = join(this.#dir, name);
      let file: FileHandle | undefined;
      try {
        file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
        await file.chmod(0o640);
        await file.writeFile(reserveContent());
        await file.sync();
        await file.close();
        file = undefined;
        this.#names.push(name);
        this.#lastProblem = '';
      } catch (error) {
        await file?.close().catch(() => undefined);
        // a half-written reserve is no reserve: it would need a page when used
        if (file !== undefined) await unlink(path).catch(() => undefined);
        this.#lastProblem = `cannot create reserve/${name}: ${(error as Error).message}`;
        return;
      }
    }
  }

  /**
   * The spares already in reserve/ (left by this receiver before a restart): plain one-link files of
   * this user, one page each, as the root side keeps them. One that cannot be listed or is not a spare
   * is left alone (the root side removes it); the reserve then fills as usual.
   */
  async #adopt(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      this.#lastProblem = `cannot list reserve/ for the spares left before a restart: ${(error as Error).message}`;
      return;
    }
    const uid = process.getuid?.();
    for (const name of names.filter((entry) => RESERVE_NAME.test(entry)).sort()) {
      if (this.#names.length >= RESERVE_ADOPT_MAX) return;
      const info = await lstat(join(this.#dir, name)).catch(() => undefined);
      if (info?.isFile() !== true || info.nlink !== 1 || info.size !== RESERVE_FILE_BYTES) continue;
      if (uid !== undefined && info.uid !== uid) continue;
      this.#names.push(name);
    }
  }
}
