import { stat } from 'node:fs/promises';

/**
 * Whether a path exists, following links as systemd's AssertPathExists= does. Only "no such file"
 * is an answer; any other failure (permissions, a file where a directory should be) is thrown, so that
 * it is never taken for absence.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new Error(`cannot stat ${path}`, { cause: error });
  }
}
