/**
 * Connection caps at accept time, before any byte is read: concurrent connections per client address and in total
 * per listener (per worker), and new connections per second per client address. A connection over a cap is
 * destroyed at once; the refusal is counted, and reported as a security event at most once a minute per address
 * and reason so that a flood does not become a log flood.
 */
import type net from 'node:net';
import client from 'prom-client';
import { GuardEvents, normaliseAddress } from './guard-events.js';

const refused = new client.Counter({
  name: 'bulwark_gateway_connections_refused_total',
  help: 'Client connections closed at accept time, by listener and reason (per_client, total, rate).',
  labelNames: ['listener', 'reason'] as const,
});

/** Addresses whose new-connection bucket is remembered; past this the least recently seen is forgotten. */
const MAX_BUCKETS = 100_000;

export interface ConnectionCaps {
  /** Concurrent connections per client address; undefined: no limit. */
  readonly perClient?: number;
  /** Concurrent connections on the listener; undefined: no limit. */
  readonly total?: number;
  /** New connections per second per client address (a token bucket holding one second's worth). */
  readonly newPerSecondPerClient?: number;
}

/** A token bucket: `tokens` as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

export class ConnectionGuard {
  private readonly open = new Map<string, number>();
  private total = 0;
  /** In least-recently-used order: a bucket is moved to the end whenever its address connects. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly events: GuardEvents;
  private readonly enabled: boolean;
  /** How long an empty bucket takes to fill again; a bucket idle that long is full and need not be kept. */
  private readonly refillMs: number;

  constructor(
    private readonly listener: string,
    private readonly caps: ConnectionCaps,
  ) {
    this.events = new GuardEvents(listener);
    this.enabled = caps.perClient !== undefined || caps.total !== undefined || caps.newPerSecondPerClient !== undefined;
    this.refillMs = caps.newPerSecondPerClient ? 1000 : 0;
  }

  /** True when the socket may stay; otherwise it has been destroyed. */
  admit(socket: net.Socket): boolean {
    if (!this.enabled) return true;
    const address = normaliseAddress(socket.remoteAddress ?? '');
    const mine = this.open.get(address) ?? 0;
    const { perClient, total, newPerSecondPerClient } = this.caps;
    const reason =
      total !== undefined && this.total >= total
        ? 'total'
        : perClient !== undefined && mine >= perClient
          ? 'per_client'
          : newPerSecondPerClient !== undefined && !this.takeToken(address, newPerSecondPerClient)
            ? 'rate'
            : undefined;
    if (reason) {
      refused.labels(this.listener, reason).inc();
      const limit = reason === 'total' ? total : reason === 'per_client' ? perClient : newPerSecondPerClient;
      this.events.report(address, 'refused', reason, { limit });
      socket.destroy();
      return false;
    }
    if (perClient === undefined && total === undefined) return true;
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

  /** Takes one token from the address's bucket (capacity `rate`, refilled at `rate` per second). */
  private takeToken(address: string, rate: number): boolean {
    const now = performance.now();
    let b = this.buckets.get(address);
    if (b) {
      this.buckets.delete(address);
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    } else b = { tokens: rate, at: now };
    this.buckets.set(address, b);
    this.forgetIdle(now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * Bounded memory without a timer: the oldest entries are looked at on each connection; a bucket untouched for
   * a full refill is full again and dropped (a fresh one is the same), and past MAX_BUCKETS the oldest goes anyway.
   */
  private forgetIdle(now: number): void {
    let looked = 0;
    for (const [address, b] of this.buckets) {
      if (looked++ >= 2) break;
      if (now - b.at >= this.refillMs || this.buckets.size > MAX_BUCKETS) this.buckets.delete(address);
      else break;
    }
  }

  /** Remembered buckets (for tests of the memory bound). */
  get bucketCount(): number {
    return this.buckets.size;
  }
}
