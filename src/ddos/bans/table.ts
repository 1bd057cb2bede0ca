/**
 * The node's ban table: addresses and CIDRs refused until a time. One per process, created before the gateway and
 * handed to every configuration it loads, so a reload (which rebuilds every stage) keeps it. A lookup costs one
 * hash probe per distinct prefix length present (like IpSet), nothing when the table is empty.
 *
 * Who hears about a change depends on where it came from (ChangeOrigin): only a change made here is counted and
 * recorded as a security event; a replication publishes only what this node made; a cluster worker forwards only
 * what it made itself to the primary. Expiry happens everywhere on its own and travels nowhere.
 */
import { hostname } from 'node:os';
import { ipv4ToNumber, ipv6ToBigInt, normaliseAddress } from '../../lib/ip.js';
import { log, recordEvent } from '../../observability/index.js';
import { banMetrics } from './metrics.js';
import { readStateFile, StateFileWriter, type StrikeRecord } from './state-file.js';
import { parseTarget, type BanTarget } from './target.js';
import type { Ban, BanChange, BanReplication } from './types.js';

/**
 * `local`: made in this process (admin API in single mode or on the primary, or an automatic ban in a worker);
 * `worker`: forwarded by a cluster worker to the primary; `primary`: sent by the primary to a worker;
 * `remote`: another node, through a BanReplication; `file`: read from the state file; `expiry`: ran out or was
 * evicted from a full table.
 */
export type ChangeOrigin = 'local' | 'worker' | 'primary' | 'remote' | 'file' | 'expiry';
export type BanListener = (change: BanChange, origin: ChangeOrigin) => void;

/** The request that caused an automatic ban, for its security event. */
export interface BanContext {
  readonly requestId?: string;
  readonly route?: string;
}

export interface BanTableOptions {
  /** Names this node in the bans it makes; default: the host name. */
  readonly node?: string;
  readonly maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const DAY_MS = 86_400_000;
const SWEEP_INTERVAL_MS = 1000;
const HISTORY_SWEEP_INTERVAL_MS = 60_000;
const REFUSAL_EVENT_INTERVAL_MS = 60_000;
const MAX_REPORTED = 10_000;

function v6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export class BanTable {
  readonly node: string;
  /** By canonical target. */
  private readonly entries = new Map<string, { ban: Ban; target: BanTarget }>();
  private readonly v4 = new Map<number, Map<number, Ban>>();
  private readonly v6 = new Map<number, Map<bigint, Ban>>();
  private v4Prefixes: number[] = [];
  private v4Masks: number[] = [];
  private v6Prefixes: number[] = [];
  private v6Masks: bigint[] = [];
  /** Automatic bans per target, kept after the ban ends so that a repeat offence bans for longer. */
  private readonly strikes = new Map<string, StrikeRecord>();
  private strikeMemoryMs = DAY_MS;
  private readonly reported = new Map<string, number>();
  private readonly listeners = new Set<BanListener>();
  private maxEntries: number;
  private nextExpiry = Infinity;
  private lastHistorySweep = Date.now();
  private readonly sweeper: NodeJS.Timeout;
  private writer?: StateFileWriter;
  private replication?: BanReplication;

  constructor(options: BanTableOptions = {}) {
    this.node = options.node ?? hostname();
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS).unref();
  }

  get size(): number {
    return this.entries.size;
  }

  setMaxEntries(n: number | undefined): void {
    this.maxEntries = n ?? DEFAULT_MAX_ENTRIES;
  }

  /** Stages declare how long they remember offences; strikes are kept for the longest. */
  rememberStrikesFor(ms: number): void {
    this.strikeMemoryMs = Math.max(this.strikeMemoryMs, ms);
  }

  /** The ban in force on this client address, if any. */
  lookup(address: string, now = Date.now()): Ban | undefined {
    if (this.entries.size === 0) return undefined;
    const a = normaliseAddress(address);
    if (a.includes(':')) {
      if (this.v6Prefixes.length === 0) return undefined;
      const n = ipv6ToBigInt(a);
      for (let i = 0; i < this.v6Prefixes.length; i++) {
        const ban = this.v6.get(this.v6Prefixes[i]!)!.get(n & this.v6Masks[i]!);
        if (ban && ban.until > now) return ban;
      }
      return undefined;
    }
    if (this.v4Prefixes.length === 0) return undefined;
    const n = ipv4ToNumber(a);
    if (n < 0) return undefined;
    for (let i = 0; i < this.v4Prefixes.length; i++) {
      const ban = this.v4.get(this.v4Prefixes[i]!)!.get((n & this.v4Masks[i]!) >>> 0);
      if (ban && ban.until > now) return ban;
    }
    return undefined;
  }

  /** Bans in force, by target. */
  list(now = Date.now()): Ban[] {
    const out: Ban[] = [];
    for (const { ban } of this.entries.values()) if (ban.until > now) out.push(ban);
    return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }

  get(target: string): Ban | undefined {
    const t = parseTarget(target);
    return typeof t === 'string' ? undefined : this.entries.get(t.text)?.ban;
  }

  /** Strikes of the last automatic ban of this target, if it was made within `memoryMs`; else 0. */
  previousStrikes(target: string, memoryMs: number, now = Date.now()): number {
    const s = this.strikes.get(target);
    return s && now - s.at <= memoryMs ? s.strikes : 0;
  }

  /**
   * Adds or replaces a ban. An automatic ban never shortens one already in force (a manual ban of a day is not cut
   * to ten minutes by a rate-limit trip). Returns false when nothing changed (bad target, already expired, shorter).
   */
  ban(input: Ban, origin: ChangeOrigin = 'local', context: BanContext = {}, now = Date.now()): boolean {
    const target = parseTarget(input.target);
    if (typeof target === 'string') {
      log().warn({ target: input.target, origin, problem: target }, 'ban ignored');
      return false;
    }
    if (!(input.until > now)) return false;
    const existing = this.entries.get(target.text);
    if (existing && input.source === 'auto' && existing.ban.until >= input.until) return false;
    const ban: Ban = {
      target: target.text,
      until: input.until,
      reason: input.reason,
      source: input.source,
      strikes: input.strikes,
      node: input.node ?? (origin === 'local' ? this.node : undefined),
    };
    if (existing) this.unindex(existing.target);
    else if (this.entries.size >= this.maxEntries) this.makeRoom(now);
    this.entries.set(target.text, { ban, target });
    this.index(target, ban);
    if (ban.until < this.nextExpiry) this.nextExpiry = ban.until;
    // A state file brings its own strike records, with their times.
    if (ban.source === 'auto' && !(origin === 'file' && this.strikes.has(ban.target)))
      this.rememberStrike(ban.target, ban.strikes, now);
    banMetrics.active.set(this.entries.size);
    if (origin === 'local') {
      banMetrics.made.labels(ban.source, ban.source === 'manual' ? 'manual' : ban.reason).inc();
      recordEvent({
        type: 'ban',
        request_id: context.requestId ?? '-',
        route: context.route ?? '-',
        client: ban.target,
        action: 'ban',
        target: ban.target,
        reason: ban.reason,
        until: new Date(ban.until).toISOString(),
        strikes: ban.strikes,
        source: ban.source,
        node: ban.node,
      });
    }
    this.emit({ kind: 'add', ban }, origin);
    return true;
  }

  /** Lifts a ban. Returns false when the target was not banned. */
  unban(targetText: string, origin: ChangeOrigin = 'local'): boolean {
    const target = parseTarget(targetText);
    if (typeof target === 'string') return false;
    const existing = this.entries.get(target.text);
    if (!existing) return false;
    this.remove(existing.target);
    if (origin === 'local') {
      banMetrics.lifted.inc();
      recordEvent({
        type: 'ban',
        request_id: '-',
        route: '-',
        client: target.text,
        action: 'unban',
        target: target.text,
        reason: existing.ban.reason,
        until: new Date(existing.ban.until).toISOString(),
        strikes: existing.ban.strikes,
        source: 'manual',
        node: this.node,
      });
    }
    this.emit({ kind: 'remove', target: target.text }, origin);
    return true;
  }

  apply(change: BanChange, origin: ChangeOrigin): boolean {
    return change.kind === 'add' ? this.ban(change.ban, origin) : this.unban(change.target, origin);
  }

  /** Hears every change with its origin; returns the function that stops it. */
  onChange(listener: BanListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True at most once a minute per ban target: a banned client hammering the gateway is not also a log flood. */
  shouldReport(target: string, now = Date.now()): boolean {
    const last = this.reported.get(target);
    if (last !== undefined && now - last < REFUSAL_EVENT_INTERVAL_MS) return false;
    if (this.reported.size >= MAX_REPORTED) this.reported.clear();
    this.reported.set(target, now);
    return true;
  }

  /**
   * Keeps bans in `path` (JSON, written atomically a moment after each change) and loads what it holds now,
   * dropping expired entries. `undefined` stops keeping them. Only one process per node may do this: in cluster
   * mode, the primary.
   */
  persistTo(path: string | undefined): void {
    if (this.writer?.path === path) return;
    this.writer?.flushSync();
    this.writer = undefined;
    if (path === undefined) return;
    const now = Date.now();
    const state = readStateFile(path, now);
    if (state.problem)
      log().warn({ file: path, problem: state.problem }, 'ban state file: some or all of it was not loaded');
    for (const s of state.strikes) if (!this.strikes.has(s.target)) this.strikes.set(s.target, s);
    for (const ban of state.bans) this.ban(ban, 'file', {}, now);
    if (state.bans.length > 0) log().info({ file: path, bans: state.bans.length }, 'bans loaded');
    this.writer = new StateFileWriter(path, () => ({ bans: this.list(), strikes: [...this.strikes.values()] }));
  }

  /**
   * Carries changes made here to other nodes and applies theirs; loads the bans they stored. The table owns
   * the replication from now on and closes it with itself.
   */
  attachReplication(r: BanReplication): void {
    this.replication = r;
    r.subscribe((change) => this.apply(change, 'remote'));
    r.load().then(
      (bans) => {
        for (const ban of bans) this.ban(ban, 'remote');
      },
      (e: unknown) => log().warn({ err: e }, 'stored bans could not be loaded from the replication'),
    );
  }

  /** Stops the sweep, writes pending state and closes the replication. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.writer?.flushSync();
    this.writer = undefined;
    const r = this.replication;
    this.replication = undefined;
    await r?.close();
  }

  /** Drops expired bans (only when one is due: a full scan at most when something has expired). */
  sweep(now: number): void {
    if (now - this.lastHistorySweep >= HISTORY_SWEEP_INTERVAL_MS) {
      this.lastHistorySweep = now;
      for (const [target, s] of this.strikes) if (now - s.at > this.strikeMemoryMs) this.strikes.delete(target);
      for (const [target, at] of this.reported) if (now - at > REFUSAL_EVENT_INTERVAL_MS) this.reported.delete(target);
    }
    if (now < this.nextExpiry) return;
    let next = Infinity;
    for (const { ban, target } of [...this.entries.values()]) {
      if (ban.until <= now) {
        this.remove(target);
        this.emit({ kind: 'remove', target: target.text }, 'expiry');
      } else if (ban.until < next) next = ban.until;
    }
    this.nextExpiry = next;
    banMetrics.active.set(this.entries.size);
  }

  private emit(change: BanChange, origin: ChangeOrigin): void {
    if (this.replication && (origin === 'local' || origin === 'worker')) this.replication.publish(change);
    if (origin !== 'file') this.writer?.schedule();
    for (const l of this.listeners) {
      try {
        l(change, origin);
      } catch (e) {
        log().error({ err: e }, 'ban listener failed');
      }
    }
  }

  /** The table is full: expired bans go first, then the one that would end soonest. */
  private makeRoom(now: number): void {
    this.nextExpiry = now;
    this.sweep(now);
    if (this.entries.size < this.maxEntries) return;
    let soonest: { ban: Ban; target: BanTarget } | undefined;
    for (const e of this.entries.values()) if (!soonest || e.ban.until < soonest.ban.until) soonest = e;
    if (!soonest) return;
    this.remove(soonest.target);
    banMetrics.evicted.inc();
    log().warn({ target: soonest.target.text, max_entries: this.maxEntries }, 'ban table full; ban evicted');
    this.emit({ kind: 'remove', target: soonest.target.text }, 'expiry');
  }

  private rememberStrike(target: string, strikes: number, now: number): void {
    if (!this.strikes.has(target) && this.strikes.size >= this.maxEntries) {
      const oldest = this.strikes.keys().next().value;
      if (oldest !== undefined) this.strikes.delete(oldest);
    }
    this.strikes.delete(target); // re-inserted last: the map stays in order of last strike
    this.strikes.set(target, { target, strikes, at: now });
  }

  private remove(target: BanTarget): void {
    this.entries.delete(target.text);
    this.unindex(target);
    banMetrics.active.set(this.entries.size);
  }

  private index(t: BanTarget, ban: Ban): void {
    if (t.family === 4) {
      let m = this.v4.get(t.prefix);
      if (!m) {
        this.v4.set(t.prefix, (m = new Map()));
        this.reprefix();
      }
      m.set(t.network as number, ban);
    } else {
      let m = this.v6.get(t.prefix);
      if (!m) {
        this.v6.set(t.prefix, (m = new Map()));
        this.reprefix();
      }
      m.set(t.network as bigint, ban);
    }
  }

  private unindex(t: BanTarget): void {
    if (t.family === 4) {
      const m = this.v4.get(t.prefix);
      m?.delete(t.network as number);
      if (m?.size === 0) {
        this.v4.delete(t.prefix);
        this.reprefix();
      }
    } else {
      const m = this.v6.get(t.prefix);
      m?.delete(t.network as bigint);
      if (m?.size === 0) {
        this.v6.delete(t.prefix);
        this.reprefix();
      }
    }
  }

  /** Longest prefix first, masks computed here rather than per lookup. */
  private reprefix(): void {
    this.v4Prefixes = [...this.v4.keys()].sort((a, b) => b - a);
    this.v4Masks = this.v4Prefixes.map(v4Mask);
    this.v6Prefixes = [...this.v6.keys()].sort((a, b) => b - a);
    this.v6Masks = this.v6Prefixes.map(v6Mask);
  }
}
