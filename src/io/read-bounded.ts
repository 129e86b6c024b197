import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
}

export class NotRegularFileError extends Error {
  override name = 'NotRegularFileError';
}

/**
 * At most maxBytes of a regular file, or an error (EISDIR for a directory). Not readFile(): a path swapped for a FIFO would
 * hang the read (and every later one that queues behind it), and one for /dev/zero or a huge file
 * would be read whole into the exporter's memory, the memory the trip path needs.
 */
export async function readBoundedBytes(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = await handle.stat();
    // a directory is left to read(), which fails at once with the usual EISDIR
    if (!stats.isFile() && !stats.isDirectory()) throw new NotRegularFileError(`${path} is not a regular file`);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
    }
    if (length > maxBytes) throw new FileTooLargeError(`${path}: larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A small file the root side writes, as text (readBoundedBytes). */
export async function readBounded(path: string, maxBytes: number): Promise<string> {
  return (await readBoundedBytes(path, maxBytes)).toString('utf8');
}
