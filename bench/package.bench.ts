// The Debian package's exporter (the single executable) against today's exporter (`node dist/`),
// node_exporter and an empty Node process: RSS idle of each, measured in the same run on this host,
// interleaved (one of each in turn, 5 rounds, p50), each started with the same configuration (no
// system bus; every Node with the environment of the exporter's unit) and idle 5 s after 5 scrapes;
// and the package's size. The package is the one under build/ when nothing that goes into it changed
// since the revision it was built from (its changelog says which), else built (npm run package).
// Every executable's page cache is dropped before its start, as after a reboot: a file written in one
// piece (as postject writes the executable) is mapped in larger pieces, 10-12 MiB more RSS here than
// the same file read from disk (docs/figures.md).
//   npx tsx bench/package.bench.ts [--rounds N]
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { ensureNodeExporter } from './node-exporter.js';
import { type BenchRow, report, verdict } from './report.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGED = ['src', 'packaging', 'deploy', 'fleet', 'package.json', 'package-lock.json', 'README.md'];
const IDLE_MS = 5000;
const MiB = 1024 * 1024;

/** The revision build-deb.sh wrote into the package's changelog, or null. */
async function builtRevision(deb: string): Promise<string | null> {
  const changelog = await execa('bash', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/quantum-ess/changelog.gz | gunzip', '-', deb], { reject: false });
  return /Build of revision ([0-9a-f]+)\./.exec(changelog.stdout)?.[1] ?? null;
}

/** build/'s package when what goes into it is unchanged since the revision it was built from, else a fresh build. */
async function currentPackage(): Promise<string> {
  const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
  const arch = (await execa('dpkg', ['--print-architecture'])).stdout.trim();
  const deb = join(repo, 'build', `quantum-ess_${version}_${arch}.deb`);
  const revision = await builtRevision(deb);
  const unchanged = revision !== null && (await execa('git', ['-C', repo, 'diff', '--quiet', revision, '--', ...PACKAGED], { reject: false })).exitCode === 0;
  if (unchanged) return deb;
  console.log(`building ${deb} (npm run package)`);
  return (await execa('npm', ['run', '--silent', 'package'], { cwd: repo })).stdout.trim().split('\n').at(-1)!;
}

/** The environment the exporter's unit gives it (NODE_OPTIONS, NODE_ENV): every Node here runs with it. */
async function unitEnvironment(): Promise<Record<string, string>> {
  const unit = await readFile(join(repo, 'deploy/systemd/quantum-ess-exporter.service'), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=("?)(\w+)=(.*)\1$/gm)].map((m) => [m[2]!, m[3]!]));
}

interface Variant {
  readonly name: string;
  readonly file: string; // the executable whose page cache is dropped
  readonly argv: (config: string) => string[];
  readonly port?: number; // scraped 5 times when it serves
}

/** /proc/PID/status's VmRSS, RssAnon and RssFile, in MiB. */
async function rss(pid: number): Promise<{ total: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1]) / 1024;
  return { total: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

async function scrapes(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if ((await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.ok, () => false))) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  for (let i = 0; i < 5; i += 1) await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
}

async function measure(variant: Variant, config: string, env: Record<string, string>): Promise<{ total: number; anon: number; file: number }> {
  // as after a reboot: read from disk, not the pages left by whoever wrote the file
  await execa('dd', [`if=${variant.file}`, 'iflag=nocache', 'count=0', 'status=none']);
  const [file, ...args] = variant.argv(config);
  const child = spawn(file!, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  try {
    if (variant.port !== undefined) await scrapes(variant.port);
    await new Promise((done) => setTimeout(done, IDLE_MS));
    return await rss(child.pid!);
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
  }
}

/** The exporter's configuration for this host: its own state paths, no system bus. */
async function writeConfig(dir: string, run: string): Promise<string> {
  const shipped = await readFile(join(repo, 'deploy/ess.conf'), 'utf8');
  const ess = shipped
    .replace(/^FLAG_FILE=.*$/m, `FLAG_FILE=${run}/ESS_ON`)
    .replace(/^LOCK_FILE=.*$/m, `LOCK_FILE=${run}/ess.lock`)
    .replace(/^STATE_DIR=.*$/m, `STATE_DIR=${dir}/state`)
    .replace(/^AUDIT_FILE=.*$/m, `AUDIT_FILE=${dir}/audit.jsonl`)
    .replace(/^SPOOL_DIR=.*$/m, `SPOOL_DIR=${dir}/spool`);
  await writeFile(join(dir, 'ess.conf'), ess);
  await writeFile(join(dir, 'token'), 'bench-token-not-a-secret-0123456789abcdef\n', { mode: 0o600 });
  await execa('mkdir', ['-p', `${dir}/state`, `${dir}/spool/incoming`, `${dir}/spool/reserve`]);
  const config = join(dir, 'exporter.json');
  await writeFile(config, JSON.stringify({
    listen: '127.0.0.1:PORT', ess_config_file: join(dir, 'ess.conf'), system_bus_address: `unix:path=${dir}/no-bus`,
    dbus_timeout_seconds: 2, webhook_token_file: join(dir, 'token'), trip_rules: [['ess_trip="true"']],
  }));
  return config;
}

const p50 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (v: number): string => v.toFixed(1);

const deb = await currentPackage();
const nodeExporter = await ensureNodeExporter();
// not under /tmp or /var/tmp, which the exporter's configuration check refuses for these paths
const dir = await mkdtemp('/var/lib/ess-bench-package-');
const run = await mkdtemp('/run/ess-bench-package-');
const rows: BenchRow[] = [];
try {
  await execa('dpkg-deb', ['-x', deb, join(dir, 'root')]);
  const template = await readFile(await writeConfig(dir, run), 'utf8');
  const configFor = async (port: number): Promise<string> => {
    const file = join(dir, `exporter-${port}.json`);
    await writeFile(file, template.replace('PORT', String(port)));
    return file;
  };
  const sea = join(dir, 'root/usr/bin/quantum-ess-exporter');
  const variants: Variant[] = [
    { name: 'single executable', file: sea, argv: (c) => [sea, '--config.file', c], port: 19270 },
    { name: 'node dist/', file: process.execPath, argv: (c) => [process.execPath, join(repo, 'dist/src/main.js'), '--config.file', c], port: 19271 },
    { name: 'node_exporter', file: nodeExporter.hostPath, argv: () => [nodeExporter.hostPath, '--web.listen-address=127.0.0.1:19272', '--collector.disable-defaults', '--collector.systemd'], port: 19272 },
    { name: 'empty node', file: process.execPath, argv: () => [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)'] },
  ];
  const env = await unitEnvironment();
  console.log(`environment of every Node: ${JSON.stringify(env)}`);
  const configs = await Promise.all(variants.map((v) => configFor(v.port ?? 0)));
  const seen = new Map(variants.map((v) => [v.name, [] as { total: number; anon: number; file: number }[]]));
  for (let round = 0; round < Number(values.rounds); round += 1) {
    for (const [i, variant] of variants.entries()) {
      const r = await measure(variant, configs[i]!, env);
      console.log(`round ${round + 1} ${variant.name}: ${fmt(r.total)} MiB (anonymous ${fmt(r.anon)}, file-backed ${fmt(r.file)})`);
      seen.get(variant.name)!.push(r);
    }
  }
  const median = (name: string): { total: number; anon: number; file: number } => {
    const rs = seen.get(name)!;
    return { total: p50(rs.map((r) => r.total)), anon: p50(rs.map((r) => r.anon)), file: p50(rs.map((r) => r.file)) };
  };
  const [single, dist, nodeExp, empty] = variants.map((v) => median(v.name));
  const spread = (name: string): string => {
    const totals = seen.get(name)!.map((r) => r.total);
    return `${fmt(Math.min(...totals))}-${fmt(Math.max(...totals))}`;
  };
  rows.push({
    figure: `RSS idle MiB, single executable (host, no system bus; p50 of ${values.rounds} interleaved; anon / file-backed; range)`,
    ess: `${fmt(single!.total)} (${fmt(single!.anon)} / ${fmt(single!.file)}; ${spread('single executable')})`,
    reference: `node dist/ ${fmt(dist!.total)} (${fmt(dist!.anon)} / ${fmt(dist!.file)}); node_exporter ${fmt(nodeExp!.total)}; empty node ${fmt(empty!.total)}`,
    goal: '<= node dist/, <= 70 MiB',
    result: verdict(single!.total <= dist!.total && single!.total <= 70),
  });
  const installed = Number((await execa('dpkg-deb', ['-f', deb, 'Installed-Size'])).stdout.trim()) / 1024;
  rows.push({
    figure: 'package size MiB (xz / installed)',
    ess: `${fmt((await stat(deb)).size / MiB)} / ${fmt(installed)}`,
    reference: '',
    goal: '',
    result: '',
  });
} finally {
  await rm(dir, { recursive: true, force: true });
  await rm(run, { recursive: true, force: true });
}

report(`The Debian package: its single executable against node dist/, node_exporter ${nodeExporter.version} and an empty Node`, rows);
