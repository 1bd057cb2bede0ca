/**
 * Ban replication through Redis (BanReplication, src/ddos/bans/types.ts). Bans are stored in one hash
 * (`<prefix>bans`, target -> JSON ban) so that a node starting later loads them; every change is also published on
 * `<prefix>bans:changes` with the publishing node's id, and subscribers drop their own messages (no echo).
 *
 * Expired bans are filtered out by load() and removed from the hash then. Changes made while Redis is down are
 * kept (bounded) and sent when it returns; on rejoining, the stored bans are handed to the subscriber again as
 * `add` changes, so a node catches up with bans it missed. A removal it missed is not replayed: that ban ends at
 * its `until` on this node.
 */
import type { Ban, BanChange, BanReplication } from '../ddos/index.js';
import { log } from '../observability/index.js';
import type { RedisConnection } from './connection.js';
import { clusterMetrics } from './metrics.js';

/** Changes kept while Redis is down; past this the oldest are dropped (they still apply on this node). */
const MAX_PENDING = 10_000;

interface Message {
  readonly node: string;
  readonly change: BanChange;
}

export class RedisBanReplication implements BanReplication {
  private readonly hashKey: string;
  private readonly channel: string;
  private handler?: (change: BanChange) => void;
  private pending: BanChange[] = [];
  private closed = false;
  private subscribed = false;
  private readonly stopWatching: () => void;
  private readonly onMessage = (channel: string, message: string) => this.receive(channel, message);

  constructor(
    private readonly conn: RedisConnection,
    private readonly onClose: () => void,
    private readonly loadTimeoutMs = 2000,
  ) {
    this.hashKey = `${conn.prefix}bans`;
    this.channel = `${conn.prefix}bans:changes`;
    conn.commands();
    this.stopWatching = conn.whenUp((rejoined) => void this.connected(rejoined));
  }

  publish(change: BanChange): void {
    if (this.closed) return;
    // Behind kept changes, not ahead of them: an add and its removal must arrive in order.
    if (!this.conn.up || this.pending.length > 0) {
      this.keep(change);
      return;
    }
    this.send(change).catch((e: unknown) => {
      this.conn.commandFailed(e);
      this.keep(change);
    });
  }

  subscribe(onChange: (change: BanChange) => void): void {
    this.handler = onChange;
    this.subscribed = true;
    const sub = this.conn.subscriberConnection();
    sub.off('message', this.onMessage);
    sub.on('message', this.onMessage);
    // With Redis down the SUBSCRIBE waits in the subscriber's queue; ioredis renews it after each reconnect.
    sub.subscribe(this.channel).catch((e: unknown) => log().warn({ err: (e as Error).message }, 'ban subscribe'));
  }

  /** Unexpired bans in Redis; empty when Redis cannot be reached within the load timeout (a rejoin replays them). */
  async load(): Promise<Ban[]> {
    if (!(await this.conn.ready(this.loadTimeoutMs)) || !this.conn.up) return [];
    try {
      const stored = await this.conn.commands().hgetall(this.hashKey);
      const now = Date.now();
      const bans: Ban[] = [];
      const expired: string[] = [];
      for (const [target, json] of Object.entries(stored)) {
        const ban = parseBan(safeJson(json));
        if (ban === undefined || ban.until <= now || ban.target !== target) expired.push(target);
        else bans.push(ban);
      }
      if (expired.length > 0) await this.conn.commands().hdel(this.hashKey, ...expired);
      return bans;
    } catch (e) {
      this.conn.commandFailed(e);
      return [];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    if (this.subscribed) this.conn.subscriberConnection().off('message', this.onMessage);
    this.handler = undefined;
    this.onClose();
    return Promise.resolve();
  }

  private async send(change: BanChange): Promise<void> {
    const m = this.conn.commands().multi();
    if (change.kind === 'add') m.hset(this.hashKey, change.ban.target, JSON.stringify(change.ban));
    else m.hdel(this.hashKey, change.target);
    m.publish(this.channel, JSON.stringify({ node: this.conn.nodeId, change } satisfies Message));
    const results = await m.exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed) throw failed?.[0] ?? new Error('transaction discarded');
    clusterMetrics.banMessages.labels('published').inc();
  }

  private keep(change: BanChange): void {
    clusterMetrics.banMessages.labels('deferred').inc();
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push(change);
  }

  /** Sends what was kept while down (or still connecting); after an outage, hands the stored bans over again. */
  private async connected(rejoined: boolean): Promise<void> {
    if (this.closed) return;
    const kept = this.pending;
    this.pending = [];
    for (const change of kept) {
      try {
        await this.send(change);
      } catch (e) {
        this.conn.commandFailed(e);
        this.pending.push(...kept.slice(kept.indexOf(change)));
        return;
      }
    }
    if (!this.handler || !rejoined) return;
    for (const ban of await this.load()) this.deliver({ kind: 'add', ban });
  }

  private receive(channel: string, message: string): void {
    if (channel !== this.channel || this.closed) return;
    const m = safeJson(message) as Partial<Message> | undefined;
    if (m?.node === this.conn.nodeId) return;
    const change = parseChange(m?.change);
    if (typeof m?.node !== 'string' || change === undefined) {
      clusterMetrics.banMessages.labels('invalid').inc();
      return;
    }
    clusterMetrics.banMessages.labels('received').inc();
    this.deliver(change);
  }

  private deliver(change: BanChange): void {
    try {
      this.handler?.(change);
    } catch (e) {
      log().error({ err: e }, 'ban change handler failed');
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whatever arrives from Redis is checked field by field: another writer (or a bug) must not break this node. */
export function parseBan(v: unknown): Ban | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const b = v as Record<string, unknown>;
  if (typeof b.target !== 'string' || b.target.length === 0 || b.target.length > 64) return undefined;
  if (typeof b.until !== 'number' || !Number.isFinite(b.until)) return undefined;
  if (typeof b.reason !== 'string' || (b.source !== 'manual' && b.source !== 'auto')) return undefined;
  if (typeof b.strikes !== 'number' || !Number.isInteger(b.strikes) || b.strikes < 0) return undefined;
  if (b.node !== undefined && typeof b.node !== 'string') return undefined;
  return {
    target: b.target,
    until: b.until,
    reason: b.reason.slice(0, 200),
    source: b.source,
    strikes: b.strikes,
    ...(b.node === undefined ? {} : { node: b.node }),
  };
}

export function parseChange(v: unknown): BanChange | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as Record<string, unknown>;
  if (c.kind === 'add') {
    const ban = parseBan(c.ban);
    return ban && { kind: 'add', ban };
  }
  if (c.kind === 'remove' && typeof c.target === 'string' && c.target.length > 0 && c.target.length <= 64)
    return { kind: 'remove', target: c.target };
  return undefined;
}
