import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections at most, all clients together. */
  readonly total: number;
  /** Open connections at most from one remote address. */
  readonly perClient: number;
}

/**
 * Caps open connections, in total and per remote address. Over a cap, a new connection does not get
 * refused: it evicts the oldest idle connection (one with no request in progress: never sent a complete
 * request head, or kept alive between requests), of the same client when that client is over its own
 * cap. Whoever holds thousands of idle connections then only ever loses its own oldest ones, and a
 * request from Alertmanager or Prometheus, which arrives right after its connect, still gets in. Only
 * when every connection is busy (each bounded by the request timeout) is the new one refused.
 */
export class ConnectionGuard {
  /** Every counted connection and its client. */
  readonly #clients = new Map<Socket, string>();
  /** Idle sockets, oldest first (a Map keeps insertion order). */
  readonly #idle = new Map<Socket, string>();
  readonly #perClient = new Map<string, number>();
  /**
   * Counted sockets by remote address and port. Over HTTPS the request's socket is the TLS socket that
   * wraps the counted TCP one; both have the same peer, which is how a request finds its connection.
   */
  readonly #byPeer = new Map<string, Socket>();
  readonly #peers = new Map<Socket, string>();
  /** Connections closed to make room, and connections refused because every one was busy. */
  evicted = 0;
  refused = 0;

  readonly #limits: ConnectionLimits;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  attach(server: Server | HttpsServer): void {
    server.on('connection', (socket: Socket) => this.#accept(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#requestStarted(req.socket, res));
  }

  openConnections(): number {
    return this.#clients.size;
  }

  #accept(socket: Socket): void {
    const client = socket.remoteAddress ?? '?';
    if ((this.#perClient.get(client) ?? 0) >= this.#limits.perClient && !this.#evictOldestIdle(client)) return this.#refuse(socket);
    if (this.#clients.size >= this.#limits.total && !this.#evictOldestIdle(null)) return this.#refuse(socket);
    this.#clients.set(socket, client);
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    this.#idle.set(socket, client);
    const peer = peerKey(socket);
    this.#byPeer.set(peer, socket);
    this.#peers.set(socket, peer);
    socket.once('close', () => this.#forget(socket));
  }

  #requestStarted(requestSocket: Socket, res: ServerResponse): void {
    const socket = this.#clients.has(requestSocket) ? requestSocket : this.#byPeer.get(peerKey(requestSocket));
    if (socket === undefined) return;
    this.#idle.delete(socket);
    res.once('finish', () => {
      const client = this.#clients.get(socket);
      // kept alive: idle again, and now the newest
      if (client !== undefined && !socket.destroyed) this.#idle.set(socket, client);
    });
  }

  /** Uncounts a connection (when it closes, or at once when evicted). */
  #forget(socket: Socket): void {
    const client = this.#clients.get(socket);
    if (client === undefined) return;
    this.#clients.delete(socket);
    this.#idle.delete(socket);
    const peer = this.#peers.get(socket);
    this.#peers.delete(socket);
    if (peer !== undefined && this.#byPeer.get(peer) === socket) this.#byPeer.delete(peer);
    const left = (this.#perClient.get(client) ?? 1) - 1;
    if (left <= 0) this.#perClient.delete(client);
    else this.#perClient.set(client, left);
  }

  /** client null: the oldest idle connection of anyone. */
  #evictOldestIdle(client: string | null): boolean {
    for (const [socket, owner] of this.#idle) {
      if (client !== null && owner !== client) continue;
      this.#forget(socket);
      this.evicted += 1;
      socket.destroy();
      return true;
    }
    return false;
  }

  #refuse(socket: Socket): void {
    this.refused += 1;
    socket.destroy();
  }
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
}
