/**
 * One Redis connection per process for commands (rate-limit leases, ban writes), plus one subscriber connection
 * opened only when bans are replicated. The state is tracked so that callers never wait on a Redis that is down:
 * commands fail at once instead of queueing (no offline queue), and ioredis keeps reconnecting in the background.
 * Each change between shared and local is a `cluster` security event, a log line and the bulwark_cluster_redis_up
 * gauge. Nothing here throws at a caller or crashes the process when Redis is missing, refuses or stalls.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { toMs } from '../lib/units.js';
import { log, recordEvent } from '../observability/index.js';
import { clusterMetrics } from './metrics.js';
import type { RedisConfig } from './schema.js';

type State = 'connecting' | 'up' | 'down';

/** After a command fails or times out on an open connection, decide locally this long before asking again. */
const SUSPEND_MS = 1000;

/** Every live connection of the process: the gauge is 1 only when all of them share. */
const live = new Set<RedisConnection>();

function updateGauge(): void {
  let up = live.size > 0;
  for (const c of live) if (!c.up) up = false;
  clusterMetrics.redisUp.set(up ? 1 : 0);
}

/** scheme://host:port without credentials, for logs and events. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparsable url)';
  }
}

export class RedisConnection {
  readonly prefix: string;
  readonly nodeId: string;
  readonly where: string;
  private client?: Redis;
  private subscriber?: Redis;
  private state: State = 'connecting';
  private everUp = false;
  private suspendedUntil = 0;
  private resumeTimer?: NodeJS.Timeout;
  private readonly onUp = new Set<(rejoined: boolean) => void>();
  private refs = 0;
  private closed = false;

  constructor(private readonly config: RedisConfig) {
    this.prefix = config.key_prefix ?? 'bulwark:';
    this.nodeId = config.node_id ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.where = redactUrl(config.url);
  }

  /** True while commands may be sent: connected and not suspended after a failure. Cheap: read per request. */
  get up(): boolean {
    return this.state === 'up' && (this.suspendedUntil === 0 || Date.now() >= this.suspendedUntil);
  }

  /** The command connection, opened on first use. */
  commands(): Redis {
    if (!this.client) {
      this.client = new Redis(this.config.url, this.options(false));
      this.watch(this.client);
      live.add(this);
      updateGauge();
    }
    return this.client;
  }

  /** The subscriber connection, opened on first use. Subscriptions are renewed by ioredis after a reconnect. */
  subscriberConnection(): Redis {
    if (!this.subscriber) {
      // The offline queue is on here: a SUBSCRIBE issued while Redis is down is sent once it is back.
      this.subscriber = new Redis(this.config.url, { ...this.options(true), autoResubscribe: true });
      this.subscriber.on('error', (e: Error) => log().debug({ err: e.message, redis: this.where }, 'redis subscriber'));
    }
    return this.subscriber;
  }

  /** Resolves true once connected, false if not within `timeoutMs` (or already known to be down). */
  ready(timeoutMs: number): Promise<boolean> {
    const client = this.commands();
    if (this.state !== 'connecting') return Promise.resolve(this.up);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs).unref();
      client.once('ready', onReady);
      client.once('error', onError);
    });
  }

  /** Runs `fn` each time the command connection becomes usable: `rejoined` after it had been down. */
  whenUp(fn: (rejoined: boolean) => void): () => void {
    this.onUp.add(fn);
    return () => this.onUp.delete(fn);
  }

  /** A command failed or timed out on an open connection (Redis stalled, script error): decide locally a while. */
  commandFailed(error: unknown): void {
    if (this.closed || this.state !== 'up') return;
    this.suspendedUntil = Date.now() + SUSPEND_MS;
    this.transition('down', `command failed: ${(error as Error)?.message ?? String(error)}`);
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.suspendedUntil = 0;
      if (this.client?.status === 'ready') this.transition('up', 'resumed after a failed command');
    }, SUSPEND_MS).unref();
  }

  acquire(): this {
    this.refs++;
    return this;
  }

  /** Drops one user; the last one closes the connections (and true is returned). */
  release(): boolean {
    if (--this.refs > 0) return false;
    void this.close();
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.resumeTimer);
    live.delete(this);
    updateGauge();
    const quit = async (r: Redis | undefined) => {
      if (!r) return;
      try {
        // QUIT needs a live connection; a dead one is just dropped.
        if (r.status === 'ready') await r.quit();
        else r.disconnect();
      } catch {
        r.disconnect();
      }
    };
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  private options(offlineQueue: boolean): RedisOptions {
    return {
      connectTimeout: toMs(this.config.connect_timeout ?? '2s'),
      commandTimeout: toMs(this.config.command_timeout ?? '250ms'),
      enableOfflineQueue: offlineQueue,
      maxRetriesPerRequest: offlineQueue ? null : 0,
      // Keep trying forever, at most a second apart, so a node rejoins within about a second of Redis returning.
      retryStrategy: (times: number) => (this.closed ? null : Math.min(100 * times, 1000)),
      // Bans and leases are small; a slow reply must not hold requests behind it (Nagle off).
      noDelay: true,
    };
  }

  private watch(r: Redis): void {
    r.on('ready', () => {
      this.suspendedUntil = 0;
      this.transition('up', 'connected');
    });
    r.on('close', () => this.transition('down', 'connection closed'));
    // ioredis reports every failed attempt; the transition is reported once, details go to debug.
    r.on('error', (e: Error) => {
      log().debug({ err: e.message, redis: this.where }, 'redis connection');
      if (this.state === 'connecting') this.transition('down', e.message);
    });
  }

  private transition(to: State, why: string): void {
    if (this.closed || this.state === to) return;
    const from = this.state;
    this.state = to;
    updateGauge();
    if (to === 'up') {
      const rejoin = this.everUp || from === 'down';
      this.everUp = true;
      if (rejoin)
        recordEvent({
          type: 'cluster',
          request_id: '-',
          route: '-',
          client: '-',
          action: 'rejoined',
          redis: this.where,
        });
      else log().info({ redis: this.where, node: this.nodeId }, 'redis connected; cluster state is shared');
      for (const fn of this.onUp) {
        try {
          fn(rejoin);
        } catch (e) {
          log().error({ err: e }, 'cluster handler failed');
        }
      }
      return;
    }
    recordEvent({
      type: 'cluster',
      request_id: '-',
      route: '-',
      client: '-',
      action: 'fallback',
      reason: why,
      redis: this.where,
      detail: 'Redis unavailable: cluster rate limits use the node limit; ban changes stay local until it returns.',
    });
  }
}
