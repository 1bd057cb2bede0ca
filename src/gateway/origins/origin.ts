/**
 * One origin: its address, weight, zone, keep-alive connection pool (undici) and availability. An origin takes
 * traffic while active health checks call it healthy and passive ejection has not benched it.
 */
import { Pool } from 'undici';

export interface OriginOptions {
  readonly url: string;
  readonly weight: number;
  readonly zone: string;
  readonly pool: string;
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export class Origin {
  readonly url: string;
  readonly weight: number;
  readonly zone: string;
  readonly pool: string;
  readonly dispatcher: Pool;
  /** Requests sent and not yet answered; read by the least-request balancer. */
  inflight = 0;
  /** From active health checks; true until a check says otherwise, so traffic flows from the first second. */
  healthy = true;
  /** Passive ejection: benched until this time (ms since epoch). */
  ejectedUntil = 0;
  private readonly options: OriginOptions;
  /** Routes may set their own connect timeout; each distinct value gets its own connection pool. */
  private readonly byConnectTimeout = new Map<number, Pool>();

  constructor(o: OriginOptions) {
    this.url = o.url.replace(/\/$/, '');
    this.weight = o.weight;
    this.zone = o.zone;
    this.pool = o.pool;
    this.options = o;
    this.dispatcher = this.newPool(o.connectTimeoutMs);
    this.byConnectTimeout.set(o.connectTimeoutMs, this.dispatcher);
  }

  private newPool(connectTimeoutMs: number): Pool {
    return new Pool(this.url, {
      connections: this.options.connections,
      pipelining: 1,
      keepAliveTimeout: this.options.keepAliveTimeoutMs,
      connect: { timeout: connectTimeoutMs },
    });
  }

  dispatcherFor(connectTimeoutMs: number): Pool {
    let p = this.byConnectTimeout.get(connectTimeoutMs);
    if (!p) this.byConnectTimeout.set(connectTimeoutMs, (p = this.newPool(connectTimeoutMs)));
    return p;
  }

  isAvailable(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byConnectTimeout.values()].map((p) => p.close().catch(() => p.destroy())));
  }
}
