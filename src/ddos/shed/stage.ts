/**
 * The shed stage, first on every route while `overload` is configured: a calm worker pays two integer compares and
 * an increment; an overloaded one answers 503 with Retry-After before any other stage, the body or the origin is
 * touched. Whether a client is protected (CIDR table, header presence) is asked only while shedding.
 */
import { CONTINUE, type Exchange, type Outcome, type Stage, type Verdict } from '../../pipeline/index.js';
import { SHED_REASON, type OverloadGuard } from './guard.js';
import { shedMetrics } from './metrics.js';

export class ShedStage implements Stage {
  readonly name = 'shed';
  private readonly counters = new Map<string, { inc(): void }>();

  constructor(
    private readonly guard: OverloadGuard,
    private readonly route: string,
    private readonly protectedRoute: boolean,
  ) {}

  onRequestHeaders(x: Exchange): Verdict {
    const g = this.guard;
    g.checkInflight();
    const level = g.level;
    if (level !== 0) {
      const prot = level === 1 && (this.protectedRoute || g.isProtectedClient(x.client.address, x.request.headers));
      if (!prot) return this.shed(g, level === 2 && this.isProtected(x));
    }
    // WebSocket upgrades hold a connection, not a request: not counted (their onLog skips them by the same test).
    if (x.request.headers.upgrade === undefined) g.inflight++;
    return CONTINUE;
  }

  onLog(x: Exchange, outcome: Outcome): void {
    // The same test as the increment, so the count cannot drift.
    if (outcome.reason === SHED_REASON || x.request.headers.upgrade !== undefined) return;
    if (this.guard.inflight > 0) this.guard.inflight--;
  }

  private isProtected(x: Exchange): boolean {
    return this.protectedRoute || this.guard.isProtectedClient(x.client.address, x.request.headers);
  }

  private shed(g: OverloadGuard, prot: boolean): Verdict {
    const priority = prot ? 'protected' : 'normal';
    const key = `${g.reason}/${priority}`;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = shedMetrics.shed.labels(this.route, g.reason, priority)));
    c.inc();
    return g.verdict;
  }
}
