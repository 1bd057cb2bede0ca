/**
 * The overload guard of one worker: three levels (ok, shedding normal traffic, shedding all traffic), raised at once
 * when a signal reaches a threshold and lowered one level at a time once every signal has stayed below
 * `clear_below` x its threshold for `clear_after` (hysteresis, so the state does not flap at a boundary).
 *
 * Signals: admitted requests in flight (exact, checked on every request: an integer compare), and event-loop delay,
 * V8 heap and RSS (sampled on a timer, never per request). A request reads one field to learn the level.
 *
 * One guard lives per Gateway and is carried across reloads, so the in-flight count includes requests admitted under
 * the previous configuration.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { OutgoingHttpHeaders } from 'node:http';
import { toBytes, toMs } from '../../lib/units.js';
import { IpSet, parseCidr, type Cidr } from '../../lib/ip.js';
import { recordEvent } from '../../observability/index.js';
import type { Verdict } from '../../pipeline/index.js';
import { shedMetrics } from './metrics.js';
import type { OverloadConfig } from './schema.js';

export type Level = 0 | 1 | 2;
export type Signal = 'inflight' | 'event_loop_delay' | 'heap_used' | 'rss';
export const STATE_NAMES = ['ok', 'shedding_normal', 'shedding_all'] as const;

/** What the sampler measures; in-flight comes from the guard's own counter. */
export interface Sample {
  readonly eventLoopDelayMs: number;
  readonly heapUsed: number;
  readonly rss: number;
}

export interface GuardOptions {
  /** Replaces the event-loop histogram and process.memoryUsage (tests). */
  readonly sample?: () => Sample;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
  /** false: no timer, the caller calls tick() (tests). */
  readonly timer?: boolean;
}

export const SHED_REASON = 'shed:overloaded';

interface Limits {
  /** [unused, level 1 (normal), level 2 (protected)] per signal; Infinity when not configured. */
  readonly inflight: readonly [number, number, number];
  readonly event_loop_delay: readonly [number, number, number];
  readonly heap_used: readonly [number, number, number];
  readonly rss: readonly [number, number, number];
}

const SIGNALS: readonly Signal[] = ['inflight', 'event_loop_delay', 'heap_used', 'rss'];

function pair(
  t: { normal: number | string; protected?: number | string } | undefined,
  unit: (v: number | string) => number,
) {
  if (!t) return [Infinity, Infinity, Infinity] as const;
  return [Infinity, unit(t.normal), t.protected === undefined ? Infinity : unit(t.protected)] as const;
}

export class OverloadGuard {
  /** Read by every request: 0 ok, 1 shed normal traffic, 2 shed all traffic. */
  level: Level = 0;
  /** The signal that raised the current level (a metric label). */
  reason: Signal = 'inflight';
  /** Admitted requests not yet finished. */
  inflight = 0;
  /** The 503 every shed request gets; built when configured. */
  verdict: Verdict = { kind: 'end', status: 503, reason: SHED_REASON };
  /** In-flight thresholds by level, copied out of `limits` for the per-request check. */
  inflightNormal = Infinity;
  inflightProtected = Infinity;
  private protectedCidrs = new IpSet();
  private protectedHeaders: readonly string[] = [];
  private limits?: Limits;
  private clearBelow = 0.8;
  private clearAfterMs = 5000;
  private belowSince: number | undefined;
  private timer?: NodeJS.Timeout;
  private histogram?: IntervalHistogram;
  private intervalMs = 250;
  /** When the timer last sampled (performance.now()); 0 until the first tick of a timer. */
  private lastSampleAt = 0;
  private readonly now: () => number;

  constructor(private readonly options: GuardOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.limits !== undefined;
  }

  /** Applies a configuration (undefined: shedding off). Counters and the current level are kept. */
  configure(config: OverloadConfig | undefined): void {
    if (!config) {
      this.stopSampling();
      this.limits = undefined;
      this.inflightNormal = this.inflightProtected = Infinity;
      if (this.level !== 0) this.change(0, this.reason, 0, 0);
      return;
    }
    const limits: Limits = {
      inflight: pair(config.inflight, Number),
      event_loop_delay: pair(config.event_loop_delay, toMs),
      heap_used: pair(config.heap_used, toBytes),
      rss: pair(config.rss, toBytes),
    };
    this.limits = limits;
    this.inflightNormal = limits.inflight[1];
    this.inflightProtected = limits.inflight[2];
    this.clearBelow = config.clear_below ?? 0.8;
    this.clearAfterMs = toMs(config.clear_after ?? '5s');
    const retryAfter = Math.max(1, Math.ceil(toMs(config.retry_after ?? '5s') / 1000));
    const headers: OutgoingHttpHeaders = { 'retry-after': String(retryAfter) };
    this.verdict = Object.freeze({
      kind: 'end',
      status: 503,
      reason: SHED_REASON,
      detail: 'The gateway is overloaded; retry after the time in Retry-After.',
      headers,
    });
    const cidrs = (config.protected_clients?.cidrs ?? [])
      .map((c) => parseCidr(c))
      .filter((c): c is Cidr => typeof c !== 'string');
    this.protectedCidrs = new IpSet(cidrs);
    this.protectedHeaders = (config.protected_clients?.headers ?? []).map((h) => h.toLowerCase());
    const sampled = limits.event_loop_delay[1] < Infinity || limits.heap_used[1] < Infinity || limits.rss[1] < Infinity;
    this.startSampling(toMs(config.sample_interval ?? '250ms'), sampled);
  }

  /** A protected client: a protected CIDR, or any of the protected headers present. Asked only while shedding. */
  isProtectedClient(address: string, headers: Record<string, unknown>): boolean {
    if (this.protectedCidrs.size > 0 && this.protectedCidrs.has(address)) return true;
    for (const h of this.protectedHeaders) if (headers[h] !== undefined) return true;
    return false;
  }

  /** Called per request before deciding: raises the level from the in-flight count. Two compares when calm. */
  checkInflight(): void {
    const n = this.inflight;
    if (n < this.inflightNormal) return;
    if (n >= this.inflightProtected) {
      if (this.level < 2) this.raise(2, 'inflight', n);
    } else if (this.level < 1) this.raise(1, 'inflight', n);
  }

  /**
   * One sampling step: raise at once to the highest level a signal reaches; lower one level once every signal has
   * been below the clear line of the current level for clear_after.
   */
  tick(sample: Sample = this.sample()): void {
    const limits = this.limits;
    if (!limits) return;
    const values: Record<Signal, number> = {
      inflight: this.inflight,
      event_loop_delay: sample.eventLoopDelayMs,
      heap_used: sample.heapUsed,
      rss: sample.rss,
    };
    for (const level of [2, 1] as const) {
      if (level <= this.level) break;
      for (const s of SIGNALS) {
        if (values[s] >= limits[s][level]) {
          this.raise(level, s, values[s]);
          return;
        }
      }
    }
    if (this.level === 0) return;
    const level = this.level;
    const still = SIGNALS.some((s) => values[s] >= limits[s][level] * this.clearBelow);
    if (still) {
      this.belowSince = undefined;
      return;
    }
    const now = this.now();
    if (this.belowSince === undefined) this.belowSince = now;
    else if (now - this.belowSince >= this.clearAfterMs) {
      this.belowSince = undefined;
      this.change((level - 1) as Level, this.reason, 0, 0);
    }
  }

  close(): void {
    this.stopSampling();
  }

  private raise(level: Level, signal: Signal, value: number): void {
    this.belowSince = undefined;
    this.change(level, signal, value, this.limits?.[signal][level] ?? 0);
  }

  /** One event and one gauge update per state change, never per request. */
  private change(level: Level, signal: Signal, value: number, threshold: number): void {
    const from = this.level;
    this.level = level;
    this.reason = signal;
    shedMetrics.state.set(level);
    recordEvent({
      type: 'overload',
      request_id: '-',
      route: '-',
      client: '-',
      action: STATE_NAMES[level],
      from: STATE_NAMES[from],
      ...(level > from ? { signal, value: Math.round(value * 1000) / 1000, threshold } : {}),
      inflight: this.inflight,
    });
  }

  private sample(): Sample {
    if (this.options.sample) return this.options.sample();
    // The sampler's own lateness counts too: after a long stall, when this tick runs before the histogram's timer,
    // the reset below drops the stall from the histogram (seen in tests: a 700 ms block left no trace).
    const now = performance.now();
    let delay = this.lastSampleAt > 0 ? Math.max(0, now - this.lastSampleAt - this.intervalMs) : 0;
    this.lastSampleAt = now;
    if (this.histogram) {
      // Nanoseconds; a window with no sample yet reads as 0.
      if (this.histogram.count > 0) delay = Math.max(delay, this.histogram.percentile(99) / 1e6);
      this.histogram.reset();
    }
    const m = process.memoryUsage();
    return { eventLoopDelayMs: delay, heapUsed: m.heapUsed, rss: m.rss };
  }

  private startSampling(intervalMs: number, sampled: boolean): void {
    if (this.options.timer === false) return;
    if (sampled && !this.histogram && !this.options.sample) {
      // 10 ms resolution: fine enough for thresholds of tens of milliseconds, one timer in libuv.
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
    } else if (!sampled && this.histogram) {
      this.histogram.disable();
      this.histogram = undefined;
    }
    if (this.timer && intervalMs === this.intervalMs) return;
    if (this.timer) clearInterval(this.timer);
    this.intervalMs = intervalMs;
    this.lastSampleAt = 0;
    // The timer also clears levels raised by the in-flight count, so it runs even with no sampled signal.
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private stopSampling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
