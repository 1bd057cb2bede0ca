/**
 * The bans stage. On the request: one table lookup; a banned client gets 403 with Retry-After (the seconds its
 * ban has left). After the exchange (onLog): the outcome's status and reason are matched against the route's
 * triggers; a client that trips one `count` times within `within` is banned, for `ban` times `growth` to the
 * power of its previous automatic bans within `memory`, at most `max_ban`. Only the outcome is read, never
 * another stage's state.
 *
 * Trips are counted per worker process, and forgotten on reload; bans themselves are node-wide and survive both.
 */
import { toMs } from '../../lib/units.js';
import { CONTINUE, type Exchange, type Outcome, type Stage, type Verdict } from '../../pipeline/index.js';
import { recordEvent } from '../../observability/index.js';
import { banMetrics } from './metrics.js';
import type { BansRouteConfig, BanTriggerConfig } from './schema.js';
import type { BanTable } from './table.js';
import { parseTarget } from './target.js';

const MAX_TRACKED_CLIENTS = 100_000;

/** Status patterns compiled to a range: "4xx" is 400-499, "404" is 404-404, "500-504" itself. */
function statusRange(spec: string | undefined, on: string): [number, number] {
  if (spec === undefined) return on === 'errors' ? [400, 599] : [0, 999];
  if (spec.endsWith('xx')) {
    const c = Number(spec[0]) * 100;
    return [c, c + 99];
  }
  const [lo, hi = lo] = spec.split('-') as [string, string?];
  return [Number(lo), Number(hi)];
}

/** One trigger: a sliding log of trip times per client, at most `count` long. */
class Trigger {
  private readonly prefix: string;
  private readonly reasons?: ReadonlySet<string>;
  private readonly low: number;
  private readonly high: number;
  private readonly count: number;
  private readonly withinMs: number;
  private readonly trips = new Map<string, number[]>();
  readonly on: string;

  constructor(private readonly config: BanTriggerConfig) {
    this.on = config.on;
    this.prefix = `${config.on}:`;
    this.reasons = config.reasons ? new Set(config.reasons) : undefined;
    [this.low, this.high] = statusRange(config.status, config.on);
    this.count = config.count;
    this.withinMs = toMs(config.within);
  }

  matches(o: Outcome): boolean {
    if (o.status < this.low || o.status > this.high) return false;
    if (this.config.on === 'errors') return true;
    if (o.reason === undefined || !o.reason.startsWith(this.prefix)) return false;
    return this.reasons === undefined || this.reasons.has(o.reason);
  }

  /** Records a trip; true when it is the `count`th within the window (the log then starts afresh). */
  trip(client: string, now: number): boolean {
    let log = this.trips.get(client);
    if (!log) {
      if (this.trips.size >= MAX_TRACKED_CLIENTS) this.forgetSome(now);
      this.trips.set(client, (log = []));
    }
    log.push(now);
    while (log.length > 0 && now - log[0]! > this.withinMs) log.shift();
    if (log.length < this.count) return false;
    this.trips.delete(client);
    return true;
  }

  /** Clients whose last trip is out of the window go; if none has, the oldest tracked one does. */
  private forgetSome(now: number): void {
    for (const [client, log] of this.trips) if (now - log[log.length - 1]! > this.withinMs) this.trips.delete(client);
    if (this.trips.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.trips.keys().next().value;
      if (oldest !== undefined) this.trips.delete(oldest);
    }
  }
}

export class BansStage implements Stage {
  readonly name = 'bans';
  onRequestHeaders?: (x: Exchange) => Verdict;
  onLog?: (x: Exchange, o: Outcome) => void;
  private readonly triggers: readonly Trigger[];
  private readonly banMs: number;
  private readonly maxBanMs: number;
  private readonly growth: number;
  private readonly memoryMs: number;
  private readonly refused: { inc(): void };

  constructor(
    private readonly table: BanTable,
    config: BansRouteConfig,
    private readonly route: string,
  ) {
    this.triggers = (config.triggers ?? []).map((t) => new Trigger(t));
    this.banMs = toMs(config.ban ?? '10m');
    this.maxBanMs = Math.max(this.banMs, toMs(config.max_ban ?? '24h'));
    this.growth = config.growth ?? 2;
    this.memoryMs = toMs(config.memory ?? '24h');
    this.refused = banMetrics.refused.labels(route);
    table.rememberStrikesFor(this.memoryMs);
    // Hooks exist only when there is something to do: the runner skips absent hooks at no cost.
    if (config.enforce !== false) this.onRequestHeaders = (x) => this.check(x);
    if (this.triggers.length > 0) this.onLog = (x, o) => this.observe(x, o);
  }

  private check(x: Exchange): Verdict {
    const now = Date.now();
    const ban = this.table.lookup(x.client.address, now);
    if (!ban) return CONTINUE;
    this.refused.inc();
    const secondsLeft = Math.max(1, Math.ceil((ban.until - now) / 1000));
    if (this.table.shouldReport(ban.target, now)) {
      recordEvent({
        type: 'ban',
        request_id: x.id,
        route: this.route,
        client: x.client.address,
        action: 'refused',
        target: ban.target,
        reason: ban.reason,
        until: new Date(ban.until).toISOString(),
        strikes: ban.strikes,
        source: ban.source,
      });
    }
    return {
      kind: 'end',
      status: 403,
      reason: 'bans:banned',
      detail: `The client address is banned; retry after ${secondsLeft} s.`,
      headers: { 'retry-after': String(secondsLeft) },
    };
  }

  private observe(x: Exchange, o: Outcome): void {
    // A refused banned client is not a new offence, and a client already banned needs no second ban.
    if (o.reason?.startsWith('bans:')) return;
    const client = x.client.address;
    const now = Date.now();
    for (const trigger of this.triggers) {
      if (!trigger.matches(o) || !trigger.trip(client, now)) continue;
      if (this.table.lookup(client, now)) return;
      const target = parseTarget(client);
      if (typeof target === 'string') return;
      const strikes = this.table.previousStrikes(target.text, this.memoryMs, now) + 1;
      const ms = Math.min(this.maxBanMs, this.banMs * this.growth ** (strikes - 1));
      const reason = trigger.on === 'errors' ? `errors:${o.status}` : (o.reason ?? trigger.on);
      this.table.ban(
        { target: target.text, until: now + ms, reason, source: 'auto', strikes },
        'local',
        { requestId: x.id, route: this.route },
        now,
      );
      return;
    }
  }
}
