/**
 * What the ratelimit stage asks of the cluster services, kept apart from their Redis implementation so that the
 * pipeline and the stage depend on types only.
 */
import type { Gcra, GcraDecision } from '../ddos/index.js';

/** One rule's limiter: the node-local GCRA or a cluster-wide one. A promise only when Redis must be asked. */
export interface RuleLimiter {
  take(key: string): GcraDecision | Promise<GcraDecision>;
  /** Releases what the limiter holds (its share of the Redis connection). */
  close?(): void;
}

export interface ClusterRuleSpec {
  readonly route: string;
  readonly rule: string;
  readonly perSecond: number;
  readonly burst: number;
  /** The node limiter: decides while Redis is unavailable, and is charged with what this node admits. */
  readonly local: Gcra;
}

/** Process-wide cross-node services, present in StageDeps when `cluster.redis` is configured. */
export interface ClusterServices {
  rateLimiter(spec: ClusterRuleSpec): RuleLimiter;
}
