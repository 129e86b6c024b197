// The connection guard's phases and its eviction order, on a bare node:http server with small limits.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGuard, keepUntilAnswered } from '../../src/http/connection-guard.js';

const BIG = Buffer.alloc(16 * 1024 * 1024, 0x61);
let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** /big: 16 MiB, more than any socket buffer holds; /hold: answered when release() is called; /keep: same, kept. */
async function start(limits: Partial<ConstructorParameters<typeof ConnectionGuard>[0]> = {}) {
  const held: (() => void)[] = [];
  server = createServer((req: IncomingMessage, res) => {
    if (req.url === '/big') res.end(BIG);
    else if (req.url === '/hold' || req.url === '/keep') {
      if (req.url === '/keep') keepUntilAnswered(req);
      held.push(() => res.end('done'));
    } else res.end('ok');
  });
  const guard = new ConnectionGuard({ total: 4, perClient: 4, writeTimeoutMs: 1_000, responseTimeoutMs: 3_000, checkIntervalMs: 100, ...limits });
  guard.attach(server);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { guard, port, release: () => held.splice(0).forEach((answer) => answer()) };
}

function open(port: number, send = '', read = true): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      if (send) socket.write(send);
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
    if (!read) socket.pause();
    sockets.push(socket);
  });
}
const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A closed socket, as seen by the server: the guard uncounted it. */
const waitFor = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 100 && !check(); i++) await settle(50);
  expect(check()).toBe(true);
};

describe('ConnectionGuard', () => {
  it('closes a connection whose answer is not taken within the write timeout', async () => {
    const { guard, port } = await start();
    await open(port, get('/big'), false);
    await settle();
    expect(guard.openConnections()).toBe(1);
    await waitFor(() => guard.openConnections() === 0);
    expect(guard.actions.write_timeout).toBe(1);
  });

  it('closes a connection that pipelines a request behind an answer not yet written', async () => {
    const { guard, port } = await start();
    await open(port, get('/big') + get('/big') + get('/big'), false);
    await waitFor(() => guard.actions.pipelined === 1);
    expect(guard.openConnections()).toBe(0);
  });

  it('closes a request not answered within the response timeout', async () => {
    const { guard, port } = await start();
    await open(port, get('/hold'));
    await settle();
    expect(guard.openConnections()).toBe(1);
    await waitFor(() => guard.actions.response_timeout === 1);
    expect(guard.openConnections()).toBe(0);
  });

  it('over the cap, evicts idle, then unread, then busy connections, never a trip being finished', async () => {
    const { guard, port, release } = await start({ total: 3, perClient: 3, writeTimeoutMs: 60_000, responseTimeoutMs: 60_000 });
    const keep = await open(port, get('/keep'));
    const busy = await open(port, get('/hold'));
    const unread = await open(port, get('/big'), false);
    await settle();
    const idle = await open(port);
    await waitFor(() => guard.actions.evicted_unread === 1);
    expect(unread.destroyed || guard.openConnections() === 3).toBe(true);
    await open(port);
    await waitFor(() => guard.actions.evicted_idle === 1);
    void idle;
    await open(port, get('/hold'));
    await settle();
    await open(port);
    // the idle one before it goes first, then, all busy, the oldest busy one, never the kept trip
    await waitFor(() => guard.actions.evicted_idle + guard.actions.evicted_busy >= 3);
    let answer = '';
    keep.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    release();
    await waitFor(() => answer.includes('done'));
    expect(busy.destroyed || guard.actions.evicted_busy >= 1).toBe(true);
    expect(guard.refused).toBe(0);
  });

  it('refuses a new connection only when every slot is finishing a trip', async () => {
    const { guard, port } = await start({ total: 2, perClient: 2, responseTimeoutMs: 60_000 });
    await open(port, get('/keep'));
    await open(port, get('/keep'));
    await settle();
    await open(port);
    await waitFor(() => guard.refused === 1);
    expect(guard.openConnections()).toBe(2);
  });
});
