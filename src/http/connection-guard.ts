import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections at most, all clients together. */
  readonly total: number;
  /** Open connections at most from one remote address. */
  readonly perClient: number;
  /** An answer fully produced must be taken by the client within this (a client that reads nothing). */
  readonly writeTimeoutMs: number;
  /** From a complete request head to its answer taken, whatever the phase (handler, body, writing). */
  readonly responseTimeoutMs: number;
  /** How often the two above are checked. */
  readonly checkIntervalMs: number;
}

/** Why a connection was closed by the guard; the label of ess_http_connections_closed_total. */
export const GUARD_ACTIONS = ['evicted_idle', 'evicted_unread', 'evicted_busy', 'evicted_new', 'refused', 'pipelined', 'write_timeout', 'response_timeout'] as const;
export type GuardAction = (typeof GUARD_ACTIONS)[number];

/** Requests the guard never evicts: a trip whose body has arrived and is being written to the spool. */
const finishing = new WeakSet<IncomingMessage>();

/** Marks a request as finishing a trip: it keeps its connection whatever new ones arrive. */
export function keepUntilAnswered(req: IncomingMessage): void {
  finishing.add(req);
}

interface Connection {
  readonly client: string;
  readonly peer: string;
  /** The request in progress and its answer; none while idle. */
  req?: IncomingMessage | undefined;
  res?: ServerResponse | undefined;
  startedMs: number;
  /** When the answer was first seen fully produced but not yet taken by the client. */
  unreadSinceMs?: number | undefined;
}

/**
 * Caps open connections, in total and per remote address, and bounds every phase of each one. Over a
 * cap a new connection is never simply refused: it evicts, of the same client when that client is over
 * its own cap, first the connection kept alive longest since its last answer (served, now between
 * requests), then the oldest whose answer is written but not read (a client that reads nothing), then
 * the oldest connection that has not sent its first request head (a TLS handshake not done included),
 * and only then the oldest request in progress, never a trip being finished (keepUntilAnswered).
 * A brand-new connection may be a genuine trip whose head a busy event loop has not parsed yet: no
 * client that has already been served, however fast it churns, can push it out; connections that
 * never send a head (slowloris) lose their slots, oldest first, to newer ones, and never push out a
 * request being answered. Only a connection arriving while every slot is finishing a trip is refused.
 *
 * Bounded phases (besides the server's own head, request and keep-alive timeouts): an answer produced
 * must be taken within writeTimeoutMs, a request must be answered within responseTimeoutMs, and a
 * request sent while the answer to the previous one is still unwritten (pipelining, which Prometheus
 * and Alertmanager never do) closes the connection, so that one connection never queues answers.
 */
export class ConnectionGuard {
  readonly #connections = new Map<Socket, Connection>();
  /** Served connections between requests, longest idle first (a Set keeps insertion order). */
  readonly #idle = new Set<Socket>();
  /** Connections that have not sent their first request head, oldest first. */
  readonly #fresh = new Set<Socket>();
  readonly #perClient = new Map<string, number>();
  /**
   * Counted sockets by remote address and port. Over HTTPS the request's socket is the TLS socket that
   * wraps the counted TCP one; both have the same peer, which is how a request finds its connection.
   */
  readonly #byPeer = new Map<string, Socket>();
  /** Connections closed by the guard, by why. */
  readonly actions: Record<GuardAction, number> = {
    evicted_idle: 0,
    evicted_unread: 0,
    evicted_busy: 0,
    evicted_new: 0,
    refused: 0,
    pipelined: 0,
    write_timeout: 0,
    response_timeout: 0,
  };

  readonly #limits: ConnectionLimits;
  #sweeper: NodeJS.Timeout | undefined;

  readonly #onAction: (why: GuardAction) => void;

  constructor(limits: ConnectionLimits, onAction: (why: GuardAction) => void = () => {}) {
    this.#limits = limits;
    this.#onAction = onAction;
  }

  #count(why: GuardAction): void {
    this.actions[why] += 1;
    this.#onAction(why);
  }

  /** Before any other request listener: a pipelined request is dropped before the router sees it. */
  attach(server: Server | HttpsServer): void {
    server.on('connection', (socket: Socket) => this.#accept(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.#requestStarted(req, res));
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), this.#limits.checkIntervalMs).unref();
    server.once('close', () => clearInterval(this.#sweeper));
  }

  openConnections(): number {
    return this.#connections.size;
  }

  /** For metrics: the guard's closes since start, by why. */
  get evicted(): number {
    return this.actions.evicted_idle + this.actions.evicted_unread + this.actions.evicted_busy + this.actions.evicted_new;
  }

  get refused(): number {
    return this.actions.refused;
  }

  #accept(socket: Socket): void {
    const client = socket.remoteAddress ?? '?';
    if ((this.#perClient.get(client) ?? 0) >= this.#limits.perClient && !this.#evictOne(client)) return this.#refuse(socket);
    if (this.#connections.size >= this.#limits.total && !this.#evictOne(null)) return this.#refuse(socket);
    const peer = peerKey(socket);
    this.#connections.set(socket, { client, peer, startedMs: Date.now() });
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    this.#fresh.add(socket);
    this.#byPeer.set(peer, socket);
    socket.once('close', () => this.#forget(socket));
  }

  #requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const requestSocket = req.socket;
    const socket = this.#connections.has(requestSocket) ? requestSocket : this.#byPeer.get(peerKey(requestSocket));
    const connection = socket && this.#connections.get(socket);
    if (socket === undefined || connection === undefined) return;
    if (connection.res !== undefined) {
      // the previous answer is not written yet: this one would queue behind it, unread
      this.#count('pipelined');
      this.#close(socket, requestSocket);
      return;
    }
    this.#idle.delete(socket);
    this.#fresh.delete(socket);
    connection.req = req;
    connection.res = res;
    connection.startedMs = Date.now();
    connection.unreadSinceMs = undefined;
    const done = (): void => {
      if (connection.res !== res) return;
      connection.req = undefined;
      connection.res = undefined;
      // kept alive: idle again, and now the newest
      if (this.#connections.has(socket) && !socket.destroyed) {
        connection.startedMs = Date.now();
        this.#idle.add(socket);
      }
    };
    res.once('finish', done);
    res.once('close', done);
  }

  /** Uncounts a connection (when it closes, or at once when the guard closes it). */
  #forget(socket: Socket): void {
    const connection = this.#connections.get(socket);
    if (connection === undefined) return;
    this.#connections.delete(socket);
    this.#idle.delete(socket);
    this.#fresh.delete(socket);
    if (this.#byPeer.get(connection.peer) === socket) this.#byPeer.delete(connection.peer);
    const left = (this.#perClient.get(connection.client) ?? 1) - 1;
    if (left <= 0) this.#perClient.delete(connection.client);
    else this.#perClient.set(connection.client, left);
  }

  /** Closes one connection to make room: client null means anyone's. */
  #evictOne(client: string | null): boolean {
    const mine = (socket: Socket): boolean => client === null || this.#connections.get(socket)?.client === client;
    const idle = firstOf(this.#idle, mine);
    if (idle !== undefined) return this.#evict(idle, 'evicted_idle');
    let unread: Socket | undefined;
    let busy: Socket | undefined;
    // Map order is arrival order, not request order: the oldest request is looked for
    let unreadSince = Infinity;
    let busySince = Infinity;
    for (const [socket, connection] of this.#connections) {
      if (!mine(socket) || connection.res === undefined || connection.req === undefined) continue;
      if (connection.res.writableEnded) {
        if (connection.startedMs < unreadSince) [unread, unreadSince] = [socket, connection.startedMs];
      } else if (!finishing.has(connection.req) && connection.startedMs < busySince) {
        [busy, busySince] = [socket, connection.startedMs];
      }
    }
    if (unread !== undefined) return this.#evict(unread, 'evicted_unread');
    // a connection yet to send its first head may be a trip the event loop has not parsed yet, but
    // before a request in progress: a flood of headless connections (slowloris) must not push out
    // the scrapes and trips being answered
    const fresh = firstOf(this.#fresh, mine);
    if (fresh !== undefined) return this.#evict(fresh, 'evicted_new');
    return busy !== undefined && this.#evict(busy, 'evicted_busy');
  }

  #evict(socket: Socket, why: GuardAction): true {
    this.#count(why);
    this.#close(socket);
    return true;
  }

  /** Closes answers not taken in time and requests not answered in time. */
  #sweep(nowMs: number): void {
    for (const [socket, connection] of this.#connections) {
      const { res } = connection;
      if (res === undefined) continue;
      if (res.writableEnded) {
        connection.unreadSinceMs ??= nowMs;
        if (nowMs - connection.unreadSinceMs >= this.#limits.writeTimeoutMs) {
          this.#count('write_timeout');
          this.#close(socket);
          continue;
        }
      }
      if (nowMs - connection.startedMs >= this.#limits.responseTimeoutMs) {
        this.#count('response_timeout');
        this.#close(socket);
      }
    }
  }

  #close(socket: Socket, requestSocket?: Socket): void {
    this.#forget(socket);
    requestSocket?.destroy();
    socket.destroy();
  }

  #refuse(socket: Socket): void {
    this.#count('refused');
    socket.destroy();
  }
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
}

/** The first of a set (oldest first) that passes the test. */
function firstOf(sockets: Set<Socket>, test: (socket: Socket) => boolean): Socket | undefined {
  for (const socket of sockets) if (test(socket)) return socket;
  return undefined;
}
