/**
 * Passive ejection (Envoy's outlier detection): consecutive 5xx answers or connect failures bench an origin for
 * a time that doubles with each ejection, up to a cap. The count decays once the origin has stayed clean for the
 * longest ejection time. At most half of a pool's origins are benched at once (Envoy's max_ejection_percent),
 * so a burst of errors cannot empty a pool that health checks still call healthy; the last available origin is
 * benched only when a failover pool can take its traffic.
 */
import type { Origin } from './origin.js';

export interface EjectionPolicy {
  readonly consecutive5xx: number;
  readonly consecutiveConnectFailures: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxEjectedShare: number;
  /** With nowhere else to send traffic, benching the last origin only turns errors into 503s (nginx agrees). */
  readonly mayEjectLast: boolean;
}

interface Track {
  fiveXx: number;
  connectFailures: number;
  ejections: number;
  lastEjectedAt: number;
}

export type Report = 'ok' | '5xx' | 'connect_failure' | 'timeout';

export class Ejector {
  private readonly tracks = new Map<Origin, Track>();

  constructor(
    private readonly policy: EjectionPolicy,
    private readonly clock: () => number = Date.now,
  ) {}

  private track(o: Origin): Track {
    let t = this.tracks.get(o);
    if (!t) this.tracks.set(o, (t = { fiveXx: 0, connectFailures: 0, ejections: 0, lastEjectedAt: 0 }));
    return t;
  }

  /** Returns the ejection time in ms when this report benches the origin, else 0. */
  report(origin: Origin, what: Report, pool: readonly Origin[]): number {
    const t = this.track(origin);
    if (what === 'ok') {
      t.fiveXx = 0;
      t.connectFailures = 0;
      return 0;
    }
    if (what === '5xx') t.fiveXx++;
    else t.connectFailures++;
    const tripped =
      t.fiveXx >= this.policy.consecutive5xx || t.connectFailures >= this.policy.consecutiveConnectFailures;
    if (!tripped) return 0;
    const now = this.clock();
    if (origin.ejectedUntil > now) return 0;
    const benched = pool.filter((o) => o.ejectedUntil > now).length;
    const cap = Math.floor(pool.length * this.policy.maxEjectedShare);
    const available = pool.filter((o) => o.isAvailable(now)).length;
    if (available <= 1 && !this.policy.mayEjectLast) return 0;
    if (benched + 1 > Math.max(this.policy.mayEjectLast ? 1 : 0, cap)) return 0;
    if (t.ejections > 0 && now - t.lastEjectedAt > this.policy.maxMs + this.durationFor(t.ejections)) t.ejections = 0;
    t.ejections++;
    t.lastEjectedAt = now;
    t.fiveXx = 0;
    t.connectFailures = 0;
    const ms = this.durationFor(t.ejections);
    origin.ejectedUntil = now + ms;
    return ms;
  }

  durationFor(ejections: number): number {
    return Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** Math.max(0, ejections - 1));
  }
}
