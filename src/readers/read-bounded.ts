import { open } from 'node:fs/promises';

export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
}

/**
 * Reads a small file the root side writes, refusing one far larger than it ever writes: a mistake or
 * an attack on the path must not make every scrape read megabytes.
 */
export async function readBounded(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new FileTooLargeError(`${path}: ${size} bytes, larger than ${maxBytes}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
