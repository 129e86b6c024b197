import { statSync } from 'node:fs';

/**
 * Whether a path exists, following links as systemd's AssertPathExists= does. Only "no such file"
 * is an answer; any other failure (permissions, a file where a directory should be) is thrown, so that
 * it is never taken for absence.
 *
 * A synchronous stat without an exception for "missing": the paths are the flag and markers on tmpfs,
 * the persisted latch and cgroupfs, which answer from memory in microseconds, while an asynchronous
 * stat that fails costs a thread-pool round trip and an Error with its stack at every scrape.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    throw new Error(`cannot stat ${path}`, { cause: error });
  }
}
