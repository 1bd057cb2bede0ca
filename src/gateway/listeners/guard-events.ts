/**
 * Security events for connection-level guards (caps, rates, slow clients). A flood trips a guard thousands of
 * times a second; the events say that it happened, once a minute per client address and guard, and the counters
 * say how often. Memory is bounded: past MAX_REPORTED remembered pairs the table starts over.
 */
import { recordEvent } from '../../observability/index.js';

const EVENT_INTERVAL_MS = 60_000;
const MAX_REPORTED = 10_000;

export class GuardEvents {
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly listener: string,
    private readonly intervalMs = EVENT_INTERVAL_MS,
  ) {}

  /** Records one `connections` event unless this address already had one for this reason within the interval. */
  report(address: string, action: string, reason: string, fields: Record<string, unknown> = {}): void {
    const key = `${reason} ${address}`;
    const now = Date.now();
    const last = this.reported.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (this.reported.size >= MAX_REPORTED) this.reported.clear();
    this.reported.set(key, now);
    recordEvent({
      type: 'connections',
      request_id: '-',
      route: '-',
      client: address,
      action,
      reason,
      listener: this.listener,
      ...fields,
    });
  }
}

/** IPv4 clients on a dual-stack socket arrive as ::ffff:a.b.c.d; they are counted as the IPv4 address. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
