import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  readonly version: string;
  readonly nodejsVersion: string;
}

/**
 * The version comes from the package.json shipped next to the program. It is searched upwards because
 * this module runs both from src/ (tsx, tests) and from dist/src/ (installed).
 */
export function readBuildInfo(): BuildInfo {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth += 1) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'quantum-ess' && typeof pkg.version === 'string') {
        return { version: pkg.version, nodejsVersion: process.version };
      }
    } catch {
      // not here; keep looking upwards
    }
    dir = dirname(dir);
  }
  return { version: 'unknown', nodejsVersion: process.version };
}
