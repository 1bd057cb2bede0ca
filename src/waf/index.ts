/** The WAF: a SecLang engine that runs OWASP CRS (see src/waf/README.md). */
export { wafModule } from './module.js';
export { loadWaf, Waf, type WafLoad, type WafProfile } from './waf.js';
export { WafSchema, WafRouteSchema, type WafConfig, type WafRouteConfig } from './schema.js';
export { locateCrs, cacheDir, isCrsRelease, PINNED_CRS_VERSION } from './crs.js';
export { installCrs, crsTreeDigest, PINNED_CRS_DIGEST, type InstallResult } from './crs-install.js';
export { wafMetrics } from './metrics.js';
export { inspectRefused } from './refused.js';
// What the Node connector (src/waf-middleware) runs the engine with, outside the gateway.
export { eventMatch, headerPairs, scores } from './stage.js';
export { maskSecrets } from './mask.js';
export type { Interruption } from './engine/evaluate.js';
export type { Transaction } from './engine/transaction.js';
