/**
 * The WAF's registry entry. The engine (CRS parsed and compiled, about a second) loads once per configuration, and
 * only when a route runs the WAF; every route brings its own profile (paranoia, thresholds, exclusions). It also
 * reads the requests the gateway refused before routing, for their security event.
 */
import { BulwarkError } from '../errors.js';
import { log, setEventCapacity } from '../observability/index.js';
import type { StageModule } from '../pipeline/index.js';
import { inspectRefused } from './refused.js';
import { WafRouteSchema, WafSchema, type WafConfig, type WafRouteConfig } from './schema.js';
import { WafStage } from './stage.js';
import { loadWaf, type Waf } from './waf.js';

export const wafModule: StageModule<WafRouteConfig, Waf | undefined> = {
  name: 'waf',
  routeSchema: WafRouteSchema,
  nodeSchemas: { waf: WafSchema },
  setup(ctx) {
    const config = ctx.sections['waf'] as WafConfig | undefined;
    setEventCapacity(config?.events?.keep ?? 1000);
    if (!ctx.routes.some((r) => r.config !== undefined)) return undefined;
    const r = loadWaf(config, ctx.baseDir);
    if (!r.ok) {
      throw new BulwarkError('BWK_ERR_WAF_RULES', `WAF rules refused:\n  ${r.problems.slice(0, 50).join('\n  ')}`);
    }
    for (const w of r.waf.ruleSet.warnings) log().warn({ warning: w }, 'waf rule set');
    return r.waf;
  },
  create(route, waf) {
    if (route.config === undefined || waf === undefined) return undefined;
    const profile = waf.profile(route.config);
    if (typeof profile === 'string')
      throw new BulwarkError('BWK_ERR_CONFIG_INVALID', `routes[${route.name}].stages.waf: ${profile}`);
    return new WafStage(waf, profile);
  },
  inspectRefused: (waf, request) => (waf ? inspectRefused(waf, request) : undefined),
};
