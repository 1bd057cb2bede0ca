/** Bans: the node-wide table, the `bans` stage (refusal and automatic bans), their config and state file. */
export { BanTable, type BanContext, type BanListener, type BanTableOptions, type ChangeOrigin } from './table.js';
export { BansStage } from './stage.js';
export { bansModule, BAN_TABLE } from './module.js';
export { BansNodeSchema, BansRouteSchema, type BansNodeConfig, type BansRouteConfig } from './schema.js';
export { covers, formatIpv6, parseTarget, type BanTarget } from './target.js';
export type { Ban, BanChange, BanReplication } from './types.js';
