/**
 * Retries allowed only while they stay within a share of requests over the last ten seconds, so that retries
 * cannot multiply load on origins that are already failing (Envoy's retry budget, Finagle's RetryBudget).
 * A small floor per second lets a quiet pool still retry. One-second buckets in a ring: O(1) per call.
 */
const BUCKETS = 10;

export class RetryBudget {
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private currentSecond = 0;
  private requestTotal = 0;
  private retryTotal = 0;

  constructor(
    private readonly ratio: number,
    private readonly floorPerSecond = 3,
    private readonly clock: () => number = Date.now,
  ) {}

  private advance(): number {
    const second = Math.floor(this.clock() / 1000);
    if (second !== this.currentSecond) {
      const steps = Math.min(BUCKETS, second - this.currentSecond);
      for (let s = 1; s <= steps; s++) {
        const i = (this.currentSecond + s) % BUCKETS;
        this.requestTotal -= this.requests[i]!;
        this.retryTotal -= this.retries[i]!;
        this.requests[i] = 0;
        this.retries[i] = 0;
      }
      this.currentSecond = second;
    }
    return second % BUCKETS;
  }

  noteRequest(): void {
    const i = this.advance();
    this.requests[i]!++;
    this.requestTotal++;
  }

  canRetry(): boolean {
    this.advance();
    return this.retryTotal < this.ratio * this.requestTotal + this.floorPerSecond * BUCKETS;
  }

  noteRetry(): void {
    const i = this.advance();
    this.retries[i]!++;
    this.retryTotal++;
  }
}
