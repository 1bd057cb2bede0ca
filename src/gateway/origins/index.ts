/** Origin pools: balancing, health checks, passive ejection, retry budgets and failover tiers. */
import type { PoolConfig } from '../schema.js';
import { OriginPool, type PoolEvents } from './pool.js';

export { OriginPool, type OriginState, type PoolEvents } from './pool.js';
export { Origin } from './origin.js';
export type { Report } from './ejection.js';

/**
 * Builds every pool and links failover chains. Pools in `reuse` are taken as they are (a reload that did not
 * change them keeps their connections and health state).
 */
export function createPools(
  configs: Record<string, PoolConfig>,
  options: { reuse?: ReadonlyMap<string, OriginPool>; events?: PoolEvents } = {},
): Map<string, OriginPool> {
  const pools = new Map<string, OriginPool>();
  for (const [name, config] of Object.entries(configs)) {
    pools.set(name, options.reuse?.get(name) ?? new OriginPool(name, config, options.events));
  }
  for (const [name, config] of Object.entries(configs)) {
    const pool = pools.get(name)!;
    pool.failover = config.failover ? pools.get(config.failover) : undefined;
  }
  return pools;
}
