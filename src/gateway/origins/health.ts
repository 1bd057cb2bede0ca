/**
 * Active health checks: GET a path on each origin every interval; `healthy` passes in a row mark it healthy,
 * `unhealthy` failures in a row mark it unhealthy. Origins start healthy so a fresh gateway serves at once;
 * the first failing probes take them out. Probes go through the origin's own connection pool, so they test the
 * path traffic takes (same keep-alive sockets, same connect settings).
 */
import { request } from 'undici';
import type { Origin } from './origin.js';

export interface HealthPolicy {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyAfter: number;
  readonly unhealthyAfter: number;
  readonly statusLow: number;
  readonly statusHigh: number;
}

export function parseStatusRange(text: string): [number, number] {
  const [lo, hi] = text.split('-').map(Number) as [number, number | undefined];
  return [lo, hi ?? lo];
}

export class HealthChecker {
  private timer?: NodeJS.Timeout;
  private readonly streaks = new Map<Origin, number>();
  private stopped = false;

  constructor(
    private readonly origins: readonly Origin[],
    private readonly policy: HealthPolicy,
    private readonly onChange: (origin: Origin, healthy: boolean) => void,
  ) {}

  start(): void {
    const tick = () => {
      void Promise.all(this.origins.map((o) => this.probe(o))).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.policy.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One probe: true when the origin answered a status in range within the timeout. */
  async probe(origin: Origin): Promise<boolean> {
    let passed = false;
    try {
      const res = await request(origin.url + this.policy.path, {
        method: 'GET',
        dispatcher: origin.dispatcher,
        headersTimeout: this.policy.timeoutMs,
        bodyTimeout: this.policy.timeoutMs,
        signal: AbortSignal.timeout(this.policy.timeoutMs),
        headers: { 'user-agent': 'bulwark-health-check' },
      });
      await res.body.dump();
      passed = res.statusCode >= this.policy.statusLow && res.statusCode <= this.policy.statusHigh;
    } catch {
      passed = false;
    }
    if (!this.stopped) this.record(origin, passed);
    return passed;
  }

  private record(origin: Origin, passed: boolean): void {
    // A positive streak counts passes, a negative one failures.
    const prior = this.streaks.get(origin) ?? 0;
    const streak = passed ? Math.max(0, prior) + 1 : Math.min(0, prior) - 1;
    this.streaks.set(origin, streak);
    if (!origin.healthy && streak >= this.policy.healthyAfter) {
      origin.healthy = true;
      this.onChange(origin, true);
    } else if (origin.healthy && -streak >= this.policy.unhealthyAfter) {
      origin.healthy = false;
      this.onChange(origin, false);
    }
  }
}
