/**
 * State shared between gateway nodes through Redis: cluster-wide rate limits and ban replication. One command
 * connection (and one subscriber, for bans) per process and Redis config, shared by every user and closed when
 * the last one is released.
 */
import type { BanReplication, SharedRateLimits } from '../ddos/index.js';
import { RedisBanReplication } from './bans.js';
import { RedisConnection } from './connection.js';
import { leaseSize } from './lease.js';
import { ClusterRateLimiter } from './limiter.js';
import type { RedisConfig } from './schema.js';

const connections = new Map<string, RedisConnection>();

/** The process's connection for this config, counted as one more user. */
function acquire(config: RedisConfig): RedisConnection {
  const id = JSON.stringify(config);
  let conn = connections.get(id);
  if (!conn) {
    conn = new RedisConnection(config);
    connections.set(id, conn);
  }
  conn.acquire();
  conn.commands();
  return conn;
}

function releaser(config: RedisConfig, conn: RedisConnection): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (conn.release()) connections.delete(JSON.stringify(config));
  };
}

/** Rate limits shared through Redis (the ratelimit stage's port). Connects on first use. */
export function sharedRateLimits(config: RedisConfig): SharedRateLimits {
  return {
    rateLimiter(spec) {
      const conn = acquire(config);
      return new ClusterRateLimiter(conn, spec, leaseSize(spec.burst, config.lease ?? 10), releaser(config, conn));
    },
  };
}

/** Ban replication through Redis, for the bans table to wire. close() releases its share of the connection. */
export function createRedisBanReplication(config: RedisConfig): BanReplication {
  const conn = acquire(config);
  return new RedisBanReplication(conn, releaser(config, conn));
}
