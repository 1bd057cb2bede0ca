/**
 * What the bans table, the admin API and cross-node replication (Redis, in src/cluster) share. The table works
 * alone on one node; a replication, when configured, carries changes to other nodes and keeps bans across
 * restarts.
 */

/** An address or CIDR refused until a time. */
export interface Ban {
  /** Normalised address or CIDR: "203.0.113.7", "198.51.100.0/24", "2001:db8::/64". */
  readonly target: string;
  /** Epoch milliseconds. */
  readonly until: number;
  /** Why: "manual", or the trip that caused it ("ratelimit:per-ip", "waf:blocked", "errors"). */
  readonly reason: string;
  readonly source: 'manual' | 'auto';
  /** Automatic bans of this target within the memory window, this one included; ban times grow with it. */
  readonly strikes: number;
  /** Node that made the ban, for operators. */
  readonly node?: string;
}

export type BanChange =
  { readonly kind: 'add'; readonly ban: Ban } | { readonly kind: 'remove'; readonly target: string };

/** Carries ban changes between nodes and stores them so that a restarted node finds them. */
export interface BanReplication {
  /** Sends a local change to the other nodes and stores it. Never throws; failures are events and metrics. */
  publish(change: BanChange): void;
  /** Registers the handler for changes made on other nodes (not echoed back to the node that made them). */
  subscribe(onChange: (change: BanChange) => void): void;
  /** Bans stored now and not yet expired: read at start and again after a reconnect. */
  load(): Promise<Ban[]>;
  close(): Promise<void>;
}
