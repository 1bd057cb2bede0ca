/**
 * Connection caps at accept time, before any byte is read: concurrent connections per client address and in total
 * per listener (per worker). A connection over a cap is destroyed at once; the refusal is counted, and reported as
 * a security event at most once a minute per address so that a flood does not become a log flood.
 */
import type net from 'node:net';
import client from 'prom-client';
import { recordEvent } from '../../observability/index.js';

const refused = new client.Counter({
  name: 'bulwark_connections_refused_total',
  help: 'Client connections closed at accept time, by listener and reason (per_client, total).',
  labelNames: ['listener', 'reason'] as const,
});

const EVENT_INTERVAL_MS = 60_000;
const MAX_REPORTED = 10_000;

export class ConnectionGuard {
  private readonly open = new Map<string, number>();
  private total = 0;
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly listener: string,
    private readonly perClient: number | undefined,
    private readonly totalCap: number | undefined,
  ) {}

  /** True when the socket may stay; otherwise it has been destroyed. */
  admit(socket: net.Socket): boolean {
    if (this.perClient === undefined && this.totalCap === undefined) return true;
    const address = normalise(socket.remoteAddress ?? '');
    const mine = this.open.get(address) ?? 0;
    const reason =
      this.totalCap !== undefined && this.total >= this.totalCap
        ? 'total'
        : this.perClient !== undefined && mine >= this.perClient
          ? 'per_client'
          : undefined;
    if (reason) {
      refused.labels(this.listener, reason).inc();
      this.report(address, reason);
      socket.destroy();
      return false;
    }
    this.open.set(address, mine + 1);
    this.total++;
    socket.once('close', () => {
      this.total--;
      const n = (this.open.get(address) ?? 1) - 1;
      if (n <= 0) this.open.delete(address);
      else this.open.set(address, n);
    });
    return true;
  }

  private report(address: string, reason: string): void {
    const now = Date.now();
    const last = this.reported.get(address);
    if (last !== undefined && now - last < EVENT_INTERVAL_MS) return;
    if (this.reported.size >= MAX_REPORTED) this.reported.clear();
    this.reported.set(address, now);
    recordEvent({
      type: 'connections',
      request_id: '-',
      route: '-',
      client: address,
      action: 'refused',
      reason,
      listener: this.listener,
      limit: reason === 'total' ? this.totalCap : this.perClient,
    });
  }
}

/** IPv4 clients on a dual-stack socket arrive as ::ffff:a.b.c.d; they are counted as the IPv4 address. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
