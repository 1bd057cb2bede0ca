/** The WAF: a SecLang engine that runs OWASP CRS (see src/waf/README.md). */
import { BulwarkError } from '../errors.js';
import type { Stage } from '../pipeline/index.js';
import { WafStage } from './stage.js';
import type { WafRouteConfig } from './schema.js';
import type { Waf } from './waf.js';

export { loadWaf, Waf, type WafLoad, type WafProfile } from './waf.js';
export { WafSchema, WafRouteSchema, type WafConfig, type WafRouteConfig } from './schema.js';
export { locateCrs, cacheDir, isCrsRelease, PINNED_CRS_VERSION } from './crs.js';
export { installCrs, crsTreeDigest, PINNED_CRS_DIGEST, type InstallResult } from './crs-install.js';
export { wafMetrics } from './stage.js';
export { inspectRefused, parseRawHead, type RefusedRequest } from './refused.js';

/** The stage for one route; the engine is shared by every route of a configuration. */
export function createWafStage(waf: Waf, route: WafRouteConfig | undefined, routeName: string): Stage {
  const profile = waf.profile(route);
  if (typeof profile === 'string')
    throw new BulwarkError('BWK_ERR_CONFIG_INVALID', `routes[${routeName}].stages.waf: ${profile}`);
  return new WafStage(waf, profile);
}
