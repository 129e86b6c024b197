// node_exporter for the comparison: Debian's prometheus-node-exporter, fetched with `apt-get download` and
// unpacked with `dpkg -x` into bench/.cache (never installed: its package would start a service on this
// machine). The checkout is mounted in the sandbox, so the binary runs there as well.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(repoRoot, 'bench/.cache/node-exporter');
const BINARY = 'usr/bin/prometheus-node-exporter';

/** The binary's path relative to the checkout (the sandbox sees the checkout at /opt/quantum-ess-src). */
export async function ensureNodeExporter(): Promise<{ hostPath: string; sandboxPath: string; version: string }> {
  const hostPath = join(CACHE, BINARY);
  if (!existsSync(hostPath)) {
    const work = await mkdtemp(join(tmpdir(), 'ess-node-exporter-'));
    try {
      let download = await execa('apt-get', ['download', 'prometheus-node-exporter'], { cwd: work, reject: false });
      if (download.exitCode !== 0) {
        await execa('apt-get', ['update', '-q']);
        download = await execa('apt-get', ['download', 'prometheus-node-exporter'], { cwd: work });
      }
      const deb = (await readdir(work)).find((name) => name.endsWith('.deb'));
      if (deb === undefined) throw new Error('apt-get download prometheus-node-exporter left no .deb');
      await mkdir(CACHE, { recursive: true });
      await execa('dpkg', ['-x', join(work, deb), CACHE]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const { stdout } = await execa(hostPath, ['--version'], { reject: false, all: true });
  const version = /version ([0-9.]+)/.exec(String(stdout))?.[1] ?? 'unknown';
  return { hostPath, sandboxPath: join('/opt/quantum-ess-src', 'bench/.cache/node-exporter', BINARY), version };
}
