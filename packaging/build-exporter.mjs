// build-exporter.mjs - the exporter as ONE executable file: src/ bundled by esbuild into one CommonJS
// file (every npm package inside it), then a Node.js single executable application (SEA): a copy of
// the node binary running this build with the bundle injected as its NODE_SEA_BLOB. The host then
// needs no Node, no npm and no node_modules.
//
//   node packaging/build-exporter.mjs [OUT_DIR]    (default build/exporter)
//
// Prints the path of the executable as its last line. The version (package.json's, or
// ESS_PACKAGE_VERSION as build-deb.sh takes it) and the build's revision and date are stamped into the
// bundle (src/io/build-info.ts): --version and ess_build_info report them.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(repo, 'build/exporter'));
const NAME = 'quantum-ess-exporter';
// the fuse postject flips so that node runs the injected blob (Node.js documents this value)
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function revision() {
  try {
    const rev = execFileSync('git', ['-C', repo, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', repo, 'status', '--porcelain', '--', 'src', 'package.json'], {
      encoding: 'utf8',
    });
    return dirty === '' ? rev : `${rev}-dirty`;
  } catch {
    return 'unknown';
  }
}

/** The build date: SOURCE_DATE_EPOCH when set (reproducible builds), else the last commit's. */
function buildDate() {
  let epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined) {
    try {
      epoch = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim();
    } catch {
      epoch = String(Math.floor(Date.now() / 1000));
    }
  }
  return new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * debug (under express) tries require('supports-color') and does without it when that throws; in a
 * SEA the attempt also prints a warning at start-up, so the bundle carries an empty module instead.
 */
const optionalModulesAbsent = {
  name: 'optional-modules-absent',
  setup(b) {
    b.onResolve({ filter: /^supports-color$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, () => ({ contents: 'module.exports = undefined;' }));
  },
};

/** Runs a build tool, whose chatter (and postject's ELF note warnings) is shown only if it fails. */
function quiet(file, args) {
  try {
    execFileSync(file, args, { stdio: 'pipe' });
  } catch (error) {
    process.stderr.write(`${String(error.stdout)}${String(error.stderr)}`);
    throw new Error(`${path.basename(file)} failed`, { cause: error });
  }
}

/** `NAME VERSION LICENSE` of every npm package inside the bundle, for the package's copyright file. */
function bundledPackages(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match !== null) dirs.add(match[1]);
  }
  const lines = [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(repo, dir, 'package.json'), 'utf8'));
    return `${pkg.name} ${pkg.version} ${typeof pkg.license === 'string' ? pkg.license : 'see-package'}`;
  });
  return `${[...new Set(lines)].sort().join('\n')}\n`;
}

async function main() {
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
  const stamp = { version: process.env.ESS_PACKAGE_VERSION || pkg.version, revision: revision(), date: buildDate() };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const bundle = path.join(outDir, `${NAME}.cjs`);
  const { metafile } = await build({
    entryPoints: [path.join(repo, 'src/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // a SEA's entry point is a CommonJS script whose require() reaches the built-in modules only
    format: 'cjs',
    outfile: bundle,
    define: { ESS_BUNDLE_STAMP: JSON.stringify(stamp) },
    // the licences of what is bundled go to the package's copyright file
    legalComments: 'none',
    logLevel: 'warning',
    // build-info.ts reads import.meta only when there is no stamp, which the bundle always has
    logOverride: { 'empty-import-meta': 'silent' },
    plugins: [optionalModulesAbsent],
    metafile: true,
    // without comments and indentation the script is 2.0 MB instead of 2.7, and the exporter idles
    // 6 MiB smaller; renaming identifiers as well (minify) and the SEA's code cache each cost heap
    // instead (docs/figures.md, measured)
    minifyWhitespace: true,
  });
  writeFileSync(path.join(outDir, 'bundled-packages.txt'), bundledPackages(metafile));
  const config = path.join(outDir, 'sea-config.json');
  const blob = path.join(outDir, `${NAME}.blob`);
  writeFileSync(
    config,
    JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true }),
  );
  quiet(process.execPath, ['--experimental-sea-config', config]);
  const exe = path.join(outDir, NAME);
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  // the symbol table serves no one on a trading host (12 MB); stripped before the blob goes in, so
  // that strip never touches the injected section
  quiet('strip', ['--strip-all', exe]);
  quiet(path.join(repo, 'node_modules/.bin/postject'), [exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  rmSync(blob);
  rmSync(config);
  process.stdout.write(`${exe}\n`);
}

await main();
