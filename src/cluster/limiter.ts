/**
 * A cluster-wide rate limit. Each key's budget lives in Redis (lease.ts); this node spends leased tokens locally,
 * so a request costs a map lookup, and Redis is asked only when the node's lease for that key is spent:
 *
 *  - tokens left: admit at once;
 *  - refused recently (the shared bucket was empty): refuse at once until a whole lease could be available;
 *  - otherwise: one lease call per key at a time; requests arriving meanwhile wait for it in order.
 *
 * While Redis is unavailable the rule's node limiter (the same GCRA the node scope uses) decides, so a rule never
 * fails open; each request decided that way is counted in bulwark_cluster_ratelimit_fallback_total. The node
 * limiter is also charged with every request admitted from leases, so falling back does not hand a fresh burst
 * to a node that has just spent its share.
 *
 * Bound (per key, see README): in any window the nodes admit at most what one bucket of the rule admits plus
 * nodes x lease (tokens leased before the window and spent in it). Unspent leases are under-admission instead.
 */
import { createHash } from 'node:crypto';
import type { GcraDecision, RuleLimiter, SharedRuleSpec } from '../ddos/index.js';
import type { RedisConnection } from './connection.js';
import { defineLease, lease } from './lease.js';
import { clusterMetrics } from './metrics.js';

type Waiter = (d: GcraDecision) => void;

interface KeyState {
  readonly redisKey: string;
  /** Leased tokens not yet spent. */
  tokens: number;
  /** Until then the shared bucket cannot fill a lease: refuse without asking. */
  denyUntil: number;
  /** When the shared bucket holds one token again (Retry-After of a refusal). */
  retryAt: number;
  /** Requests waiting for the lease call in flight; set only while one is. */
  waiters?: Waiter[];
  touched: number;
}

/** Keys of this node beyond which idle ones are dropped (their unspent tokens are lost, never over-admitted). */
const MAX_KEYS = 100_000;
const SWEEP_EVERY_MS = 10_000;
const IDLE_MS = 60_000;
/** Keys longer than this (header values) are hashed in Redis: bounded key size whatever the client sends. */
const MAX_RAW_KEY = 128;
/** Longest a refusal is remembered past the time the shared bucket has one token again. */
const MAX_HOLD_MS = 1000;

export class ClusterRateLimiter implements RuleLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly keyBase: string;
  private readonly args: readonly [string, string, string];
  private lastSweep = Date.now();
  private readonly stopWatching: () => void;
  private readonly fallback: { inc(): void };
  private readonly leases: Record<'granted' | 'empty' | 'error', { inc(): void }>;

  constructor(
    private readonly conn: RedisConnection,
    private readonly spec: SharedRuleSpec,
    /** Tokens asked per lease (leaseSize of the rule's burst and the configured lease). */
    private readonly want: number,
    private readonly onClose: () => void,
  ) {
    this.keyBase = `${conn.prefix}rl:${spec.route}:${spec.rule}:`;
    this.args = [String(spec.perSecond / 1000), String(spec.burst), String(want)];
    this.fallback = clusterMetrics.fallback.labels(spec.route, spec.rule);
    const l = clusterMetrics.leases;
    // Refusals remembered from before an outage may be stale (Redis may have restarted empty): ask again.
    this.stopWatching = conn.whenUp((rejoined) => {
      if (rejoined) for (const s of this.keys.values()) s.denyUntil = 0;
    });
    this.leases = {
      granted: l.labels(spec.route, spec.rule, 'granted'),
      empty: l.labels(spec.route, spec.rule, 'empty'),
      error: l.labels(spec.route, spec.rule, 'error'),
    };
  }

  take(key: string): GcraDecision | Promise<GcraDecision> {
    if (!this.conn.up) return this.decideLocally(key);
    const now = Date.now();
    let s = this.keys.get(key);
    if (s === undefined) {
      s = this.track(key, now);
    } else {
      s.touched = now;
      if (s.waiters) return new Promise((resolve) => s!.waiters!.push(resolve));
      if (s.tokens > 0) return this.admit(key, s);
      if (now < s.denyUntil) return refused(s.retryAt - now);
    }
    const state = s;
    state.waiters = [];
    const decided = new Promise<GcraDecision>((resolve) => state.waiters!.push(resolve));
    void this.refill(key, state);
    return decided;
  }

  close(): void {
    this.stopWatching();
    this.keys.clear();
    this.onClose();
  }

  private decideLocally(key: string): GcraDecision {
    this.fallback.inc();
    return this.spec.local.take(key);
  }

  private admit(key: string, s: KeyState): GcraDecision {
    s.tokens--;
    // Charge the node limiter too (its verdict is not used here): if Redis goes away it starts from this node's use.
    this.spec.local.take(key);
    return { allowed: true, remaining: s.tokens, retryAfterMs: 0, resetMs: 0 };
  }

  /** Leases until every waiter is served or the shared bucket is empty. One call in flight per key. */
  private async refill(key: string, s: KeyState): Promise<void> {
    const waiters = s.waiters!;
    let next = 0;
    try {
      const client = this.conn.commands();
      defineLease(client);
      while (next < waiters.length) {
        const r = await lease(client, s.redisKey, ...this.args);
        const now = Date.now();
        s.tokens += r.grant;
        this.leases[r.grant > 0 ? 'granted' : 'empty'].inc();
        while (s.tokens > 0 && next < waiters.length) waiters[next++]!(this.admit(key, s));
        if (r.grant < this.want) {
          // Wait for a whole lease (one call per lease, not per token, while saturated), but never hold a token
          // back more than a second: Retry-After stays true for slow rates.
          s.denyUntil = now + Math.max(r.waitOneMs, Math.min(r.waitLeaseMs, MAX_HOLD_MS));
          s.retryAt = now + r.waitOneMs;
          const no = refused(r.waitOneMs);
          while (next < waiters.length) waiters[next++]!(no);
        }
      }
    } catch (e) {
      this.leases.error.inc();
      this.conn.commandFailed(e);
      while (next < waiters.length) waiters[next++]!(this.decideLocally(key));
    } finally {
      s.waiters = undefined;
    }
  }

  private track(key: string, now: number): KeyState {
    if (this.keys.size >= MAX_KEYS || now - this.lastSweep > SWEEP_EVERY_MS) this.sweep(now);
    const redisKey =
      this.keyBase + (key.length <= MAX_RAW_KEY ? key : createHash('sha256').update(key).digest('base64url'));
    const s: KeyState = { redisKey, tokens: 0, denyUntil: 0, retryAt: 0, touched: now };
    this.keys.set(key, s);
    return s;
  }

  /** Drops keys with nothing to remember, then idle ones, then (still full) the oldest without a call in flight. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, s] of this.keys) {
      if (s.waiters) continue;
      if ((s.tokens === 0 && s.denyUntil <= now) || now - s.touched > IDLE_MS) this.keys.delete(k);
    }
    for (const [k, s] of this.keys) {
      if (this.keys.size < MAX_KEYS) break;
      if (!s.waiters) this.keys.delete(k);
    }
  }
}

function refused(retryAfterMs: number): GcraDecision {
  const wait = Math.max(0, retryAfterMs);
  return { allowed: false, remaining: 0, retryAfterMs: wait, resetMs: wait };
}
