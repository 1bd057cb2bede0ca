/**
 * The ratelimit stage: each rule keeps a GCRA bucket (rate) and/or a sliding-window count (quota) per key; the
 * first rule to refuse answers 429 with
 * Retry-After and the IETF httpapi RateLimit-Policy / RateLimit headers. A shadow rule counts and annotates but
 * never refuses. Everything is compiled at load; a request costs a key build and a map lookup per rule.
 *
 * Scope: `node` state lives in the worker process. With `workers_balance: client_hash` (the default) the primary
 * gives every connection of a client prefix to one worker, so limits keyed by client or client_prefix are exact per
 * node. `cluster` rate rules share one budget across nodes through Redis (src/cluster); only they may answer with a
 * promise.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { CONTINUE, type Exchange, type Stage, type Step, type Verdict } from '../../pipeline/index.js';
import { batchedCounter } from '../../observability/index.js';
import { rateLimitMetrics } from './metrics.js';
import type { RateLimitConfig, RateLimitRule } from './schema.js';
import { Gcra, type GcraDecision } from './gcra.js';
import type { RuleLimiter, SharedRateLimits } from './port.js';
import { compileKey } from './key.js';
import { parseQuota, SlidingWindow } from './window.js';

const PER_SECOND: Record<string, number> = { s: 1, m: 1 / 60, h: 1 / 3600 };

export function parseRate(rate: string): number {
  const [n, unit] = rate.split('/') as [string, string];
  return Number(n) * PER_SECOND[unit]!;
}

/** What a rule asks per request; GCRA, the sliding window, or both in turn. */
export interface Limiter {
  take(key: string): GcraDecision;
}

/** Rate and quota on one rule: the quota counts first and gives the request back if the rate then refuses. */
class RateAndQuota implements Limiter {
  constructor(
    private readonly rate: Gcra,
    private readonly quota: SlidingWindow,
  ) {}

  take(key: string): GcraDecision {
    const q = this.quota.take(key);
    if (!q.allowed) return q;
    const r = this.rate.take(key);
    if (!r.allowed) this.quota.refund(key);
    return r.allowed && q.remaining < r.remaining ? q : r;
  }
}

interface CompiledRule {
  readonly name: string;
  readonly key: (x: Exchange) => string;
  readonly bucket: RuleLimiter;
  readonly shadow: boolean;
  readonly policy: string;
  readonly counters: { allowed: { inc(): void }; limited: { inc(): void }; shadow: { inc(): void } };
  /** Refusal verdicts by their wait in seconds (see decide). */
  readonly refusals: Verdict[];
}

/**
 * The limiter and the RateLimit-Policy of a rule. A quota's policy names its count and window; a rate's names its
 * burst and the seconds it takes to refill, as the httpapi draft puts a token bucket; with both, the quota's.
 * A `cluster` rule's rate is shared through Redis; its quota, if any, is rejected at load (quotas are per node).
 */
function limiterFor(
  rule: RateLimitRule,
  route: string,
  cluster: SharedRateLimits | undefined,
): { limiter: RuleLimiter; policy: string } {
  let rate: RuleLimiter | undefined;
  let policy = '';
  if (rule.rate !== undefined) {
    const perSecond = parseRate(rule.rate);
    const burst = rule.burst ?? Math.max(1, Math.round(perSecond));
    const local = new Gcra(perSecond, burst);
    // The config check refuses `scope: cluster` without `cluster.redis`, so `cluster` is set for such rules.
    rate =
      rule.scope === 'cluster' && cluster
        ? cluster.rateLimiter({ route, rule: rule.name, perSecond, burst, local })
        : local;
    policy = `"${rule.name}";q=${burst};w=${Math.max(1, Math.ceil(burst / perSecond))}`;
  }
  if (rule.quota === undefined) return { limiter: rate!, policy };
  const { limit, windowMs } = parseQuota(rule.quota);
  const window = new SlidingWindow(limit, windowMs);
  policy = `"${rule.name}";q=${limit};w=${windowMs / 1000}`;
  // `rate` is a node Gcra here: the config check refuses a quota on a cluster rule.
  return { limiter: rate ? new RateAndQuota(rate as Gcra, window) : window, policy };
}

function compileRule(rule: RateLimitRule, route: string, cluster: SharedRateLimits | undefined): CompiledRule {
  const { limiter, policy } = limiterFor(rule, route, cluster);
  const m = rateLimitMetrics.decisions;
  return {
    name: rule.name,
    key: compileKey(rule.key),
    bucket: limiter,
    shadow: rule.shadow === true,
    policy,
    counters: {
      allowed: batchedCounter(m, route, rule.name, 'allowed'),
      limited: batchedCounter(m, route, rule.name, 'limited'),
      shadow: batchedCounter(m, route, rule.name, 'shadow_limited'),
    },
    refusals: [],
  };
}

export class RateLimitStage implements Stage {
  readonly name = 'ratelimit';
  private readonly rules: readonly CompiledRule[];

  constructor(config: RateLimitConfig, route: string, cluster?: SharedRateLimits) {
    this.rules = config.rules.map((r) => compileRule(r, route, cluster));
  }

  onRequestHeaders(x: Exchange): Step {
    return this.check(x, 0);
  }

  close(): void {
    for (const rule of this.rules) rule.bucket.close?.();
  }

  /** Rules from `from` on; a cluster rule that must ask Redis resumes the loop when its answer comes. */
  private check(x: Exchange, from: number): Step {
    for (let i = from; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      const d = rule.bucket.take(rule.key(x));
      if (d instanceof Promise) return d.then((r) => this.decide(x, rule, r) ?? this.check(x, i + 1));
      const verdict = this.decide(x, rule, d);
      if (verdict) return verdict;
    }
    return CONTINUE;
  }

  /** The verdict of a refusing rule, or undefined when the request goes on to the next rule. */
  private decide(x: Exchange, rule: CompiledRule, d: GcraDecision): Verdict | undefined {
    if (d.allowed) {
      rule.counters.allowed.inc();
      return undefined;
    }
    if (rule.shadow) {
      rule.counters.shadow.inc();
      x.annotations['ratelimit_shadow'] = rule.name;
      return undefined;
    }
    rule.counters.limited.inc();
    const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    if (retryAfter >= REUSED_VERDICTS) return refusal(rule, retryAfter);
    // A flood meets the same few verdicts again and again: one frozen object per wait, built on first use, lets
    // the gateway reuse the problem body it built for it too.
    return (rule.refusals[retryAfter] ??= refusal(rule, retryAfter));
  }
}

/** Verdicts for waits of 1 s up to this are kept per rule; longer waits (quotas) are built each time. */
const REUSED_VERDICTS = 120;

function refusal(rule: CompiledRule, retryAfter: number): Verdict {
  const headers: OutgoingHttpHeaders = Object.freeze({
    'retry-after': String(retryAfter),
    'ratelimit-policy': rule.policy,
    ratelimit: `"${rule.name}";r=0;t=${retryAfter}`,
  });
  return Object.freeze({
    kind: 'end',
    status: 429,
    reason: `ratelimit:${rule.name}`,
    detail: `Rate limit "${rule.name}" exceeded; retry after ${retryAfter} s.`,
    headers,
  });
}
