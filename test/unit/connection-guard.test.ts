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
/** Sends one request on a kept-alive connection and resolves with the answer. */
function request(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (chunk: Buffer): void => {
      answer += chunk.toString();
      if (!/\r\n\r\n[\s\S]*ok$/.test(answer)) return;
      socket.off('data', onData);
      resolve(answer);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`connection closed before the answer to ${path}`)));
    socket.write(get(path));
  });
}
/** A connection served once and kept alive, now between requests. */
async function served1(port: number): Promise<Socket> {
  const socket = await open(port);
  await request(socket, '/');
  return socket;
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

  it('over the cap, evicts kept-alive, then unread, then headless, then busy connections, never a trip being finished', async () => {
    const { guard, port, release } = await start({ total: 4, perClient: 4, writeTimeoutMs: 60_000, responseTimeoutMs: 60_000 });
    const keep = await open(port, get('/keep'));
    const busy = await open(port, get('/hold'));
    const unread = await open(port, get('/big'), false);
    const served = await served1(port);
    await settle();
    await open(port);
    await waitFor(() => guard.actions.evicted_idle === 1);
    await waitFor(() => served.destroyed);
    await open(port);
    await waitFor(() => guard.actions.evicted_unread === 1);
    // two headless connections now: a newer one pushes out the oldest, never the request in progress
    await open(port);
    await waitFor(() => guard.actions.evicted_new === 1);
    expect(busy.destroyed).toBe(false);
    await open(port);
    await open(port);
    await waitFor(() => guard.actions.evicted_new === 3);
    expect(guard.actions.evicted_busy).toBe(0);
    // two more requests in progress take the headless ones' slots; then only the oldest request in
    // progress can go, never the trip
    await open(port, get('/hold'));
    await open(port, get('/hold'));
    await waitFor(() => guard.actions.evicted_new === 5);
    await settle();
    await open(port);
    await waitFor(() => guard.actions.evicted_busy === 1);
    await waitFor(() => busy.destroyed);
    let answer = '';
    keep.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    release();
    await waitFor(() => answer.includes('done'));
    expect(unread.destroyed || guard.actions.evicted_unread === 1).toBe(true);
    expect(guard.refused).toBe(0);
  });

  // A trip's brand-new connection, its head not parsed yet, while kept-alive clients churn: each
  // client served goes back to idle as the newest, so the new connection used to become the oldest
  // idle one and was evicted. Over the total cap and over one address's own cap alike.
  for (const cap of ['total', 'perClient'] as const) {
    it(`keeps a connection yet to send its head while served clients churn over the ${cap} cap`, async () => {
      const limits = cap === 'total' ? { total: 3, perClient: 3 } : { total: 50, perClient: 3 };
      const { guard, port } = await start(limits);
      const a = await served1(port);
      const b = await served1(port);
      const trip = await open(port);
      await settle();
      // served again: both now idle more recently than the trip's connection was opened
      await request(a, '/');
      await request(b, '/');
      await open(port);
      await waitFor(() => guard.actions.evicted_idle === 1);
      await open(port);
      await waitFor(() => guard.actions.evicted_idle === 2);
      expect(trip.destroyed).toBe(false);
      expect(guard.actions.evicted_new).toBe(0);
      expect(await request(trip, '/')).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*ok$/);
    });
  }

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
