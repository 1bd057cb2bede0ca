/**
 * A pool of origins with its balancer, health checks, ejection and retry budget, and an optional failover pool
 * that takes the traffic while this one has no available origin (priority tiers, e.g. another cloud).
 */
import { toMs } from '../../lib/units.js';
import type { PoolConfig } from '../schema.js';
import { LeastRequest, SmoothRoundRobin, type Balancer } from './balancer.js';
import { Ejector, type Report } from './ejection.js';
import { HealthChecker, parseStatusRange } from './health.js';
import { Origin } from './origin.js';
import { RetryBudget } from './retry-budget.js';

export type OriginState = 'healthy' | 'unhealthy' | 'ejected';

export interface PoolEvents {
  /** An origin changed state; the gateway logs and counts it. */
  onStateChange?(origin: Origin, state: OriginState, detail?: { ejectedForMs?: number }): void;
  /** A retry was granted. */
  onRetry?(pool: string, cause: string): void;
}

/** Config checks refuse failover loops; this bound is a second guard that costs nothing. */
const MAX_TIERS = 16;

/** Visits a pool and then its failover chain, returning the first answer `visit` gives. Allocates nothing. */
function walkTiers<T>(start: OriginPool, visit: (p: OriginPool) => T | undefined): T | undefined {
  let p: OriginPool | undefined = start;
  for (let hops = 0; p && hops < MAX_TIERS; hops++, p = p.failover) {
    const found = visit(p);
    if (found !== undefined) return found;
  }
  return undefined;
}

export class OriginPool {
  readonly name: string;
  readonly origins: readonly Origin[];
  readonly maxRetries: number;
  /** Set after all pools exist; walked when this pool has no available origin. */
  failover?: OriginPool;
  readonly balancer: Balancer;
  private readonly ejector: Ejector;
  private readonly budget: RetryBudget;
  private readonly health?: HealthChecker;

  constructor(
    name: string,
    config: PoolConfig,
    private readonly events: PoolEvents = {},
  ) {
    this.name = name;
    const connectMs = 5000;
    this.origins = config.origins.map(
      (o) =>
        new Origin({
          url: o.url,
          weight: o.weight ?? 1,
          zone: o.zone ?? '',
          pool: name,
          connections: config.connections ?? 128,
          connectTimeoutMs: connectMs,
          keepAliveTimeoutMs: 4000,
        }),
    );
    this.balancer = config.balancer === 'least_request' ? new LeastRequest() : new SmoothRoundRobin();
    const e = config.ejection;
    this.ejector = new Ejector({
      consecutive5xx: e?.consecutive_5xx ?? 5,
      consecutiveConnectFailures: e?.consecutive_connect_failures ?? 3,
      baseMs: toMs(e?.base_time ?? '5s'),
      maxMs: toMs(e?.max_time ?? '5m'),
      maxEjectedShare: 0.5,
      mayEjectLast: config.failover !== undefined,
    });
    this.maxRetries = config.retries?.attempts ?? 2;
    this.budget = new RetryBudget(config.retries?.budget ?? 0.2);
    if (config.health) {
      const [lo, hi] = parseStatusRange(config.health.expect_status ?? '200-399');
      this.health = new HealthChecker(
        this.origins,
        {
          path: config.health.path,
          intervalMs: toMs(config.health.interval ?? '5s'),
          timeoutMs: toMs(config.health.timeout ?? '2s'),
          healthyAfter: config.health.healthy ?? 2,
          unhealthyAfter: config.health.unhealthy ?? 2,
          statusLow: lo,
          statusHigh: hi,
        },
        (origin, healthy) => this.events.onStateChange?.(origin, healthy ? 'healthy' : 'unhealthy'),
      );
      this.health.start();
    }
  }

  /**
   * An available origin of this pool, or else of the first failover pool that has one. `exclude` is the origin
   * a retry just failed on; it is avoided when any other origin is available.
   */
  pick(exclude?: Origin): Origin | undefined {
    const now = Date.now();
    const other = walkTiers(this, (p) => p.balancer.pick(p.origins, now, exclude));
    return other ?? (exclude ? walkTiers(this, (p) => p.balancer.pick(p.origins, now)) : undefined);
  }

  /** Feeds passive ejection in the pool the origin belongs to (which may be a failover pool). */
  report(origin: Origin, what: Report): void {
    const owner = this.owning(origin);
    const ms = owner.ejector.report(origin, what, owner.origins);
    if (ms > 0) this.events.onStateChange?.(origin, 'ejected', { ejectedForMs: ms });
  }

  private owning(origin: Origin): OriginPool {
    return walkTiers(this, (p) => (p.name === origin.pool ? p : undefined)) ?? this;
  }

  noteRequest(): void {
    this.budget.noteRequest();
  }

  canRetry(): boolean {
    return this.budget.canRetry();
  }

  noteRetry(cause: string): void {
    this.budget.noteRetry();
    this.events.onRetry?.(this.name, cause);
  }

  /** Origins of this pool taking traffic now (not counting failover pools). */
  healthyCount(): number {
    const now = Date.now();
    let n = 0;
    for (const o of this.origins) if (o.isAvailable(now)) n++;
    return n;
  }

  async close(): Promise<void> {
    this.health?.stop();
    await Promise.all(this.origins.map((o) => o.close()));
  }
}
