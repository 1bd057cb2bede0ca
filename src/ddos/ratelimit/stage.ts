/**
 * The ratelimit stage: each rule keeps a GCRA bucket per key; the first rule to refuse answers 429 with
 * Retry-After and the IETF httpapi RateLimit-Policy / RateLimit headers. A shadow rule counts and annotates but
 * never refuses. Everything is compiled at load; a request costs a key build and a map lookup per rule.
 *
 * Scope today: buckets live in the worker process, so with N workers a client may get up to N times the limit.
 * Exact per-node limits across workers and cluster-wide limits through Redis are the next steps (issue #6).
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
import { Gcra } from './gcra.js';
import { compileKey } from './key.js';

const PER_SECOND: Record<string, number> = { s: 1, m: 1 / 60, h: 1 / 3600 };

export function parseRate(rate: string): number {
  const [n, unit] = rate.split('/') as [string, string];
  return Number(n) * PER_SECOND[unit]!;
}

interface CompiledRule {
  readonly name: string;
  readonly key: (x: Exchange) => string;
  readonly bucket: Gcra;
  readonly shadow: boolean;
  readonly policy: string;
  readonly counters: { allowed: { inc(): void }; limited: { inc(): void }; shadow: { inc(): void } };
}

function compileRule(rule: RateLimitRule, route: string): CompiledRule {
  const perSecond = parseRate(rule.rate);
  const burst = rule.burst ?? Math.max(1, Math.round(perSecond));
  const windowSeconds = Math.max(1, Math.ceil(burst / perSecond));
  const m = ddosMetrics.rateLimitDecisions;
  return {
    name: rule.name,
    key: compileKey(rule.key),
    bucket: new Gcra(perSecond, burst),
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
