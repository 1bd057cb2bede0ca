/**
 * The ratelimit stage: each rule keeps a GCRA bucket per key; the first rule to refuse answers 429 with
 * Retry-After and the IETF httpapi RateLimit-Policy / RateLimit headers. A shadow rule counts and annotates but
 * never refuses. Everything is compiled at load; a request costs a key build and a map lookup per rule.
 *
 * Scope: `node` buckets live in the worker process, so with N workers a client may get up to N times the limit.
 * `cluster` rules share one budget across nodes through Redis (src/cluster); only they may answer with a promise.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import {
  CONTINUE,
  type Exchange,
  type Stage,
  type StageDeps,
  type Step,
  type StageFactory,
  type Verdict,
} from '../../pipeline/index.js';
import { ddosMetrics } from '../metrics.js';
import type { RateLimitConfig, RateLimitRule } from '../schema.js';
import type { ClusterServices, RuleLimiter } from '../../cluster/index.js';
import { Gcra, type GcraDecision } from './gcra.js';
import { compileKey } from './key.js';

const PER_SECOND: Record<string, number> = { s: 1, m: 1 / 60, h: 1 / 3600 };

export function parseRate(rate: string): number {
  const [n, unit] = rate.split('/') as [string, string];
  return Number(n) * PER_SECOND[unit]!;
}

interface CompiledRule {
  readonly name: string;
  readonly key: (x: Exchange) => string;
  readonly bucket: RuleLimiter;
  readonly shadow: boolean;
  readonly policy: string;
  readonly counters: { allowed: { inc(): void }; limited: { inc(): void }; shadow: { inc(): void } };
}

function compileRule(rule: RateLimitRule, route: string, cluster: ClusterServices | undefined): CompiledRule {
  const perSecond = parseRate(rule.rate);
  const burst = rule.burst ?? Math.max(1, Math.round(perSecond));
  const windowSeconds = Math.max(1, Math.ceil(burst / perSecond));
  const m = ddosMetrics.rateLimitDecisions;
  const local = new Gcra(perSecond, burst);
  // The config check refuses `scope: cluster` without `cluster.redis`, so `cluster` is set for such rules.
  const bucket =
    rule.scope === 'cluster' && cluster
      ? cluster.rateLimiter({ route, rule: rule.name, perSecond, burst, local })
      : local;
  return {
    name: rule.name,
    key: compileKey(rule.key),
    bucket,
    shadow: rule.shadow === true,
    policy: `"${rule.name}";q=${burst};w=${windowSeconds}`,
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

  constructor(config: RateLimitConfig, route: string, cluster?: ClusterServices) {
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
}

export const rateLimitStage: StageFactory<RateLimitConfig> = {
  name: 'ratelimit',
  create(config: RateLimitConfig, deps: StageDeps): Stage {
    return new RateLimitStage(config, deps.routeName, deps.cluster);
  },
};
