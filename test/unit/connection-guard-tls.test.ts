import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGuard } from '../../src/http/connection-guard.js';
import { makeCert } from './tls-certs.js';

let server: Server | undefined;
let dir: string | undefined;
const sockets: TLSSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const open = (port: number): Promise<TLSSocket> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
const closed = (socket: TLSSocket): Promise<void> => new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

describe('ConnectionGuard over HTTPS', () => {
  it('counts the TCP connection and sees a request on its TLS socket: a kept-alive one is evicted, never the busy one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ess-guard-tls-'));
    const pair = await makeCert(dir, 'guard');
    let release: (() => void) | undefined;
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = createServer({ cert: await readFile(pair.certFile), key: await readFile(pair.keyFile) }, (req, res) => {
      if (req.url === '/hold') void busy.then(() => res.end('done'));
      else res.end('ok');
    });
    const guard = new ConnectionGuard({ total: 2, perClient: 2, writeTimeoutMs: 5_000, responseTimeoutMs: 15_000, checkIntervalMs: 1_000 });
    guard.attach(server);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    // the oldest connection has a request in progress, the next one was served and is kept alive
    const working = await open(port);
    let answer = '';
    working.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    working.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const idle = await open(port);
    let served = '';
    idle.on('data', (chunk: Buffer) => {
      served += chunk.toString();
    });
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && !served.endsWith('ok'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(guard.openConnections()).toBe(2);

    // over the cap: the idle one goes, the busy one stays and gets its answer
    const third = await open(port);
    await closed(idle);
    expect(guard.evicted).toBe(1);
    expect(guard.actions.evicted_idle).toBe(1);
    expect(working.destroyed).toBe(false);
    release?.();
    for (let i = 0; i < 100 && !answer.includes('done'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*done$/);
    expect(third.destroyed).toBe(false);
  });
});
