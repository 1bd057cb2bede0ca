/**
 * The ratelimit stage's registry entry. A route's own rules (`routes[].stages.ratelimit`) and the top-level
 * `ratelimit` rules, which apply to every route with one set of counters: they run first, so a client over a
 * node-wide limit costs no route rule a lookup.
 */
import type { CheckContext, ConfigPath, Stage, StageModule } from '../../pipeline/index.js';
import { SHARED_RATE_LIMITS } from './port.js';
import { RateLimitSchema, type RateLimitConfig } from './schema.js';
import { RateLimitStage } from './stage.js';

interface RateLimitNode {
  readonly config: RateLimitConfig | undefined;
  /**
   * The top-level rules' stage, shared by every route: made by the first route's create, after every module's setup
   * has passed, because a `cluster` rule takes a share of the Redis connection that only a built pipeline gives back.
   */
  everyRoute?: RateLimitStage;
}

/** `scope: cluster` needs Redis, and shares a rate only (quotas are per node). */
function checkScopes(config: RateLimitConfig | undefined, at: ConfigPath, ctx: CheckContext<RateLimitConfig>): void {
  const rules: unknown = config?.rules;
  const redis = (ctx.sections['cluster'] as { redis?: unknown } | undefined)?.redis;
  (Array.isArray(rules) ? (rules as RateLimitConfig['rules']) : []).forEach((rule, j) => {
    if (rule?.scope !== 'cluster') return;
    if (redis === undefined)
      ctx.report(
        [...at, 'rules', j, 'scope'],
        'scope "cluster" shares the limit through Redis; add cluster.redis (url) at the top level, or use "node"',
      );
    if (rule.quota !== undefined)
      ctx.report(
        [...at, 'rules', j, 'quota'],
        'quotas are counted per node; a "cluster" rule shares a rate only: put the quota in a rule of its own',
      );
  });
}

export const rateLimitModule: StageModule<RateLimitConfig, RateLimitNode> = {
  name: 'ratelimit',
  routeSchema: RateLimitSchema,
  nodeSchemas: { ratelimit: RateLimitSchema },
  check(ctx) {
    checkScopes(ctx.sections['ratelimit'] as RateLimitConfig | undefined, ['ratelimit'], ctx);
    for (const r of ctx.routes) checkScopes(r.config, r.at, ctx);
  },
  setup: (ctx) => ({ config: ctx.sections['ratelimit'] as RateLimitConfig | undefined }),
  create(route, node, deps) {
    const stages: Stage[] = [];
    if (node.config)
      stages.push((node.everyRoute ??= new RateLimitStage(node.config, '*', deps.ports.get(SHARED_RATE_LIMITS))));
    if (route.config) stages.push(new RateLimitStage(route.config, route.name, deps.ports.get(SHARED_RATE_LIMITS)));
    return stages;
  },
};
