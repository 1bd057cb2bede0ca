/**
 * What the ratelimit stage asks of a shared store for `scope: cluster` rules. The stage owns this port; src/cluster
 * implements it on Redis and binds it in the registry, so neither imports the other's code.
 */
import { definePort } from '../../pipeline/index.js';
import type { Gcra, GcraDecision } from './gcra.js';

/** One rule's limiter: the node-local GCRA or a cluster-wide one. A promise only when the store must be asked. */
export interface RuleLimiter {
  take(key: string): GcraDecision | Promise<GcraDecision>;
  /** Releases what the limiter holds (its share of the store's connection). */
  close?(): void;
}

export interface SharedRuleSpec {
  readonly route: string;
  readonly rule: string;
  readonly perSecond: number;
  readonly burst: number;
  /** The node limiter: decides while the store is unavailable, and is charged with what this node admits. */
  readonly local: Gcra;
}

/** Limits shared between nodes; bound when `cluster.redis` is configured. */
export interface SharedRateLimits {
  rateLimiter(spec: SharedRuleSpec): RuleLimiter;
}

export const SHARED_RATE_LIMITS = definePort<SharedRateLimits>('shared-rate-limits');
