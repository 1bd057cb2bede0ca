/**
 * GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time (TAT). A request is
 * admitted when it arrives no earlier than TAT minus the burst tolerance; admitting moves TAT one emission
 * interval on. Equivalent to a token bucket, with O(1) state and no timers. Keys whose TAT has passed hold no
 * information and are swept, and the table is capped so that a flood of distinct keys cannot grow memory.
 */
export interface GcraDecision {
  readonly allowed: boolean;
  /** Requests still admissible right now. */
  readonly remaining: number;
  /** Milliseconds until one more request would be admitted (0 when allowed). */
  readonly retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
}

export class Gcra {
  private readonly tat = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private lastSweep = 0;

  /**
   * @param ratePerSecond sustained rate
   * @param burst requests admitted at once from a full bucket (at least 1)
   * @param maxKeys when exceeded, expired keys are swept, then the oldest entries dropped
   */
  constructor(
    ratePerSecond: number,
    readonly burst: number,
    private readonly maxKeys = 1_000_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.intervalMs = 1000 / ratePerSecond;
    this.toleranceMs = this.intervalMs * Math.max(0, burst - 1);
  }

  get size(): number {
    return this.tat.size;
  }

  take(key: string): GcraDecision {
    const now = this.clock();
    const prior = this.tat.get(key);
    const tat = prior === undefined || prior < now ? now : prior;
    const earliest = tat - this.toleranceMs;
    if (now < earliest) {
      return { allowed: false, remaining: 0, retryAfterMs: earliest - now, resetMs: tat - now };
    }
    const next = tat + this.intervalMs;
    if (prior === undefined) this.admitNewKey(now);
    this.tat.set(key, next);
    const headroom = this.toleranceMs - (next - now) + this.intervalMs;
    return {
      allowed: true,
      remaining: Math.max(0, Math.floor(headroom / this.intervalMs)),
      retryAfterMs: 0,
      resetMs: next - now,
    };
  }

  private admitNewKey(now: number): void {
    if (this.tat.size < this.maxKeys && now - this.lastSweep < 10_000) return;
    this.sweep(now);
    // Still full after the sweep: drop the oldest insertions (Map keeps insertion order).
    for (const key of this.tat.keys()) {
      if (this.tat.size < this.maxKeys) break;
      this.tat.delete(key);
    }
  }

  /** Drops keys whose bucket is full again: they carry no state. */
  sweep(now = this.clock()): void {
    this.lastSweep = now;
    for (const [key, tat] of this.tat) if (tat <= now) this.tat.delete(key);
  }
}
