import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  readonly version: string;
  readonly nodejsVersion: string;
}

/** The build's own record, which the single-executable build (packaging/bundle.mjs) substitutes. */
export interface BundleStamp {
  readonly version: string;
  readonly revision: string;
  readonly date: string;
}

// Replaced by esbuild's `define` in the bundle; undefined when run from dist/ or src/.
declare const ESS_BUNDLE_STAMP: BundleStamp | undefined;

/** The stamp of the single executable, or null when this runs from dist/ or src/. */
export function bundleStamp(): BundleStamp | null {
  return typeof ESS_BUNDLE_STAMP === 'undefined' ? null : ESS_BUNDLE_STAMP;
}

/**
 * The version comes from the package.json shipped next to the program, searched upwards because this
 * module runs both from src/ (tsx, tests) and from dist/src/ (installed); the single executable has
 * no package.json beside it and carries the version in its stamp instead.
 */
export function readBuildInfo(): BuildInfo {
  const stamp = bundleStamp();
  if (stamp !== null) return { version: stamp.version, nodejsVersion: process.version };
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

/** The line --version prints. */
export function versionLine(buildInfo: BuildInfo): string {
  const stamp = bundleStamp();
  const build = stamp === null ? 'from dist/' : `revision ${stamp.revision}, built ${stamp.date}, single executable`;
  return `quantum-ess-exporter ${buildInfo.version} (${build}; Node.js ${buildInfo.nodejsVersion})\n`;
}
