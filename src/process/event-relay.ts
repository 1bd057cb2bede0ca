/**
 * A worker's security events on their way to the primary, which numbers and keeps them (one order per node; see
 * src/observability/events.ts). Events go in batches: one IPC message per `maxBatch` events or per `intervalMs`,
 * never a message (let alone a round trip) per event. At most `maxInFlight` batches are being written at once; when
 * the primary falls behind, the oldest waiting events beyond the ring's capacity are dropped and counted, as the
 * ring itself would have dropped them.
 */
import type { UnnumberedEvent } from '../observability/index.js';

export interface EventRelayOptions {
  /** Sends one batch; calls `done` once it is written (process.send's callback), whatever the outcome. */
  readonly send: (batch: UnnumberedEvent[], dropped: number, done: () => void) => void;
  /** How many events may wait: the ring's capacity, read on every push so a reload applies. */
  readonly maxPending: () => number;
  readonly maxBatch?: number;
  readonly intervalMs?: number;
  readonly maxInFlight?: number;
}

export class EventRelay {
  private pending: UnnumberedEvent[] = [];
  private dropped = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly intervalMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: EventRelayOptions) {
    this.maxBatch = options.maxBatch ?? 256;
    this.intervalMs = options.intervalMs ?? 50;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  push(event: UnnumberedEvent): void {
    this.pending.push(event);
    const over = this.pending.length - Math.max(1, this.options.maxPending());
    if (over > 0) {
      this.pending.splice(0, over);
      this.dropped += over;
    }
    if (this.pending.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  /** Sends what waits, as far as the in-flight bound allows; the rest goes when a write completes. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      const dropped = this.dropped;
      this.dropped = 0;
      this.inFlight++;
      let called = false;
      this.options.send(batch, dropped, () => {
        if (called) return;
        called = true;
        this.inFlight--;
        if (this.pending.length > 0) this.timer ??= setTimeout(() => this.flush(), 0).unref();
      });
    }
  }

  /** Events waiting or being written: a draining worker waits for 0 before it exits. */
  get waiting(): number {
    return this.pending.length + this.inFlight;
  }
}
