/**
 * `workers_balance: client_hash`: the primary accepts data-plane connections itself, paused so that it reads no
 * byte, and hands each one to the worker that owns the client's prefix (its /24 for IPv4, /64 for IPv6, IPv4-mapped
 * addresses counted as IPv4). Every connection of a client and of its neighbours then meets the same rate-limit
 * state, whichever key (`client` or `client_prefix`) a rule uses, so per-client limits are exact per node.
 *
 * Workers own fixed slots; a replacement takes the slot of the worker it replaces. While a slot has no ready worker,
 * its clients go to the live slots (chosen by a second hash, so the other slots' clients stay where they are) and
 * come back when the slot is ready again: their limit state starts afresh on each move.
 *
 * The cost is one IPC message with a file descriptor per connection (node:cluster's round-robin on Node 20 pays the
 * same); requests on a kept-alive connection cost nothing more. See docs/rationale.md.
 */
import type { Worker } from 'node:cluster';
import net from 'node:net';
import { splitAddress } from '../config/index.js';
import { clientPrefix } from '../lib/ip.js';
import { BulwarkError } from '../errors.js';
import type { ListenerConfig } from '../gateway/schema.js';
import { log } from '../observability/index.js';

/** The message a worker receives with the socket. */
export interface HandedConnection {
  readonly type: 'connection';
  readonly listener: string;
}

/** FNV-1a over the prefix text: cheap, stable across processes and restarts, well spread for slot counts. */
export function prefixHash(address: string): number {
  const text = clientPrefix(address);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The slot for a hash: its own when live, else one of the live ones, or -1 when none is. */
export function slotFor(hash: number, live: readonly boolean[]): number {
  const own = hash % live.length;
  if (live[own]) return own;
  const up: number[] = [];
  live.forEach((l, i) => l && up.push(i));
  if (up.length === 0) return -1;
  // A second, independent spread: the dead slot's clients are shared out instead of all landing on one neighbour.
  return up[(Math.imul(hash, 0x9e3779b1) >>> 0) % up.length]!;
}

interface Accepting {
  readonly address: string;
  readonly server: net.Server;
}

export class ClientHashBalancer {
  private readonly workers: Array<Worker | undefined>;
  private readonly live: boolean[];
  private readonly servers = new Map<string, Accepting>();

  constructor(slots: number) {
    this.workers = Array.from({ length: slots }, () => undefined);
    this.live = Array.from({ length: slots }, () => false);
  }

  /** A worker that has started and taken its configuration serves `slot`; undefined when it died. */
  setWorker(slot: number, worker: Worker | undefined): void {
    this.workers[slot] = worker;
    this.live[slot] = worker !== undefined;
  }

  /** Slot of the worker that died, if it still held one. */
  slotOf(worker: Worker): number {
    return this.workers.indexOf(worker);
  }

  /**
   * Binds the listeners of a configuration: new or moved ones first (a bind failure closes what this call bound
   * and throws, leaving the previous set), then closes those no longer wanted.
   */
  async apply(listeners: readonly ListenerConfig[]): Promise<void> {
    const fresh = new Map<string, Accepting>();
    try {
      for (const l of listeners) {
        if (this.servers.get(l.name)?.address === l.address) continue;
        fresh.set(l.name, { address: l.address, server: await this.bind(l.name, l.address) });
      }
    } catch (e) {
      for (const a of fresh.values()) a.server.close();
      throw e;
    }
    const wanted = new Set(listeners.map((l) => l.name));
    for (const [name, a] of this.servers) {
      if (!wanted.has(name) || fresh.has(name)) {
        a.server.close();
        this.servers.delete(name);
      }
    }
    for (const [name, a] of fresh) this.servers.set(name, a);
  }

  /** Stops accepting; connections already handed over belong to their workers. */
  close(): void {
    for (const a of this.servers.values()) a.server.close();
    this.servers.clear();
  }

  private bind(name: string, address: string): Promise<net.Server> {
    const { host, port } = splitAddress(address);
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.hand(name, socket));
    return new Promise((resolve, reject) => {
      server.once('error', (e) =>
        reject(new BulwarkError('BWK_ERR_LISTEN', `listener ${name} cannot bind ${address}: ${e.message}`)),
      );
      server.listen({ host, port }, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => log().error({ err: e, listener: name }, 'listener error'));
        log().info({ listener: name, address, balance: 'client_hash' }, 'primary accepting');
        resolve(server);
      });
    });
  }

  private hand(listener: string, socket: net.Socket): void {
    socket.on('error', () => socket.destroy());
    const slot = slotFor(prefixHash(socket.remoteAddress ?? ''), this.live);
    const worker = slot < 0 ? undefined : this.workers[slot];
    if (!worker?.isConnected()) {
      socket.destroy();
      return;
    }
    const msg: HandedConnection = { type: 'connection', listener };
    // Once sent, the primary's copy of the socket is closed (keepOpen is false); the worker owns the connection.
    worker.send(msg, socket, (err: Error | null) => {
      if (err) socket.destroy();
    });
  }
}
