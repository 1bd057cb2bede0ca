/**
 * The ratelimit stage: each rule keeps a GCRA bucket (rate) and/or a sliding-window count (quota) per key; the
 * first rule to refuse answers 429 with
 * Retry-After and the IETF httpapi RateLimit-Policy / RateLimit headers. A shadow rule counts and annotates but
 * never refuses. Everything is compiled at load; a request costs a key build and a map lookup per rule.
 *
 * Scope: state lives in the worker process. With `workers_balance: client_hash` (the default) the primary gives
 * every connection of a client prefix to one worker, so limits keyed by client or client_prefix are exact per node.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import {
  CONTINUE,
  type Exchange,
  type Stage,
  type StageDeps,
  type StageFactory,
  type Verdict,
} from '../../pipeline/index.js';
import { ddosMetrics } from '../metrics.js';
import type { RateLimitConfig, RateLimitRule } from '../schema.js';
import { Gcra, type GcraDecision } from './gcra.js';
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
  readonly bucket: Limiter;
  readonly shadow: boolean;
  readonly policy: string;
  readonly counters: { allowed: { inc(): void }; limited: { inc(): void }; shadow: { inc(): void } };
}

/**
 * The limiter and the RateLimit-Policy of a rule. A quota's policy names its count and window; a rate's names its
 * burst and the seconds it takes to refill, as the httpapi draft puts a token bucket; with both, the quota's.
 */
function limiterFor(rule: RateLimitRule): { limiter: Limiter; policy: string } {
  let gcra: Gcra | undefined;
  let policy = '';
  if (rule.rate !== undefined) {
    const perSecond = parseRate(rule.rate);
    const burst = rule.burst ?? Math.max(1, Math.round(perSecond));
    gcra = new Gcra(perSecond, burst);
    policy = `"${rule.name}";q=${burst};w=${Math.max(1, Math.ceil(burst / perSecond))}`;
  }
  if (rule.quota === undefined) return { limiter: gcra!, policy };
  const { limit, windowMs } = parseQuota(rule.quota);
  const window = new SlidingWindow(limit, windowMs);
  policy = `"${rule.name}";q=${limit};w=${windowMs / 1000}`;
  return { limiter: gcra ? new RateAndQuota(gcra, window) : window, policy };
}

function compileRule(rule: RateLimitRule, route: string): CompiledRule {
  const { limiter, policy } = limiterFor(rule);
  const m = ddosMetrics.rateLimitDecisions;
  return {
    name: rule.name,
    key: compileKey(rule.key),
    bucket: limiter,
    shadow: rule.shadow === true,
    policy,
    counters: {
      allowed: m.labels(route, rule.name, 'allowed'),
      limited: m.labels(route, rule.name, 'limited'),
      shadow: m.labels(route, rule.name, 'shadow_limited'),
    },
  };
}

export class RateLimitStage implements Stage {
  readonly name = 'ratelimit';
  private readonly rules: readonly CompiledRule[];

  constructor(config: RateLimitConfig, route: string) {
    this.rules = config.rules.map((r) => compileRule(r, route));
  }

  onRequestHeaders(x: Exchange): Verdict {
    for (const rule of this.rules) {
      const d = rule.bucket.take(rule.key(x));
      if (d.allowed) {
        rule.counters.allowed.inc();
        continue;
      }
      if (rule.shadow) {
        rule.counters.shadow.inc();
        x.annotations['ratelimit_shadow'] = rule.name;
        continue;
      }
      rule.counters.limited.inc();
      const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
      const headers: OutgoingHttpHeaders = {
        'retry-after': String(retryAfter),
        'ratelimit-policy': rule.policy,
        ratelimit: `"${rule.name}";r=0;t=${retryAfter}`,
      };
      return {
        kind: 'end',
        status: 429,
        reason: `ratelimit:${rule.name}`,
        detail: `Rate limit "${rule.name}" exceeded; retry after ${retryAfter} s.`,
        headers,
      };
    }
    return CONTINUE;
  }
}

export const rateLimitStage: StageFactory<RateLimitConfig> = {
  name: 'ratelimit',
  create(config: RateLimitConfig, deps: StageDeps): Stage {
    return new RateLimitStage(config, deps.routeName);
  },
};
