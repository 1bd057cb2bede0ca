/**
 * Quotas over long windows (per minute, hour, day) with a sliding-window counter: two fixed windows, the current
 * one and the one before, and the previous count weighted by how much of it still overlaps the sliding window
 * (the estimate Cloudflare and nginx-plus describe). Two numbers per key instead of a timestamp per request, so a
 * quota of 10,000 a day costs the same memory as one of 10 a minute.
 *
 * Fixed windows are aligned to the epoch (days to UTC midnight), so every worker and every node cuts them at the
 * same instants. Counting is exact inside one fixed window; across a boundary the estimate assumes the previous
 * window's requests were spread evenly, which can admit a little more or less than the quota in the sliding window.
 */
import type { GcraDecision } from './gcra.js';

export const WINDOW_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "10000/d" into a count and a window length. The schema has already checked the form. */
export function parseQuota(quota: string): { limit: number; windowMs: number } {
  const [n, unit] = quota.split('/') as [string, string];
  return { limit: Number(n), windowMs: WINDOW_MS[unit]! };
}

interface Counts {
  /** Index of the fixed window `current` counts in (epoch ms / window length, floored). */
  window: number;
  previous: number;
  current: number;
}

export class SlidingWindow {
  private readonly counts = new Map<string, Counts>();
  private lastSweep = 0;

  /**
   * @param limit requests admitted in any window of `windowMs` (estimated as described above)
   * @param maxKeys when exceeded, keys with nothing counted are swept, then the oldest entries dropped
   */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 1_000_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get size(): number {
    return this.counts.size;
  }

  take(key: string): GcraDecision {
    const now = this.clock();
    const index = Math.floor(now / this.windowMs);
    let c = this.counts.get(key);
    if (c === undefined) {
      this.admitNewKey(now);
      c = { window: index, previous: 0, current: 0 };
      this.counts.set(key, c);
    } else if (c.window !== index) {
      // One window on: the current count becomes the previous one. Further on: both are history.
      c.previous = c.window === index - 1 ? c.current : 0;
      c.current = 0;
      c.window = index;
    }
    const start = index * this.windowMs;
    const overlap = 1 - (now - start) / this.windowMs;
    const estimate = c.previous * overlap + c.current;
    if (estimate >= this.limit) {
      const retryAfterMs = this.waitMs(c, now, start);
      return { allowed: false, remaining: 0, retryAfterMs, resetMs: retryAfterMs };
    }
    c.current++;
    return {
      allowed: true,
      remaining: Math.max(0, Math.floor(this.limit - estimate - 1)),
      retryAfterMs: 0,
      resetMs: start + this.windowMs - now,
    };
  }

  /** Gives back a request counted by `take` that another limiter of the same rule then refused. */
  refund(key: string): void {
    const c = this.counts.get(key);
    if (c !== undefined && c.current > 0) c.current--;
  }

  /** Milliseconds until the estimate falls below the limit again, with no more requests meanwhile. */
  private waitMs(c: Counts, now: number, start: number): number {
    const end = start + this.windowMs;
    let at: number;
    if (c.current >= this.limit) {
      // Not within this window: in the next, `current` becomes the weighted previous count.
      at = end + this.windowMs * (1 - this.limit / Math.max(c.current, 1));
    } else {
      // previous * (1 - f) + current < limit  <=>  f > 1 - (limit - current) / previous
      at = start + this.windowMs * (1 - (this.limit - c.current) / c.previous);
    }
    return Math.max(1, Math.ceil(at - now) + 1);
  }

  private admitNewKey(now: number): void {
    if (this.counts.size < this.maxKeys && now - this.lastSweep < 10_000) return;
    this.sweep(now);
    for (const key of this.counts.keys()) {
      if (this.counts.size < this.maxKeys) break;
      this.counts.delete(key);
    }
  }

  /** Drops keys whose two windows have both passed: they count nothing any more. */
  sweep(now = this.clock()): void {
    this.lastSweep = now;
    const index = Math.floor(now / this.windowMs);
    for (const [key, c] of this.counts) if (c.window < index - 1) this.counts.delete(key);
  }
}
