/**
 * Choosing an origin among the available ones. Both balancers skip unavailable origins, look at each origin at
 * most once per pick and allocate nothing.
 */
import type { Origin } from './origin.js';

export interface Balancer {
  pick(origins: readonly Origin[], now: number, exclude?: Origin): Origin | undefined;
}

/**
 * Smooth weighted round robin (nginx's): each pick adds every origin's weight to its score, takes the highest,
 * and subtracts the total from the winner. Weights 3:1 give a a b a, not a a a b; the spread is exact.
 */
export class SmoothRoundRobin implements Balancer {
  private scores = new Map<Origin, number>();

  pick(origins: readonly Origin[], now: number, exclude?: Origin): Origin | undefined {
    let best: Origin | undefined;
    let bestScore = -Infinity;
    let total = 0;
    for (const o of origins) {
      if (o === exclude || !o.isAvailable(now)) continue;
      const score = (this.scores.get(o) ?? 0) + o.weight;
      this.scores.set(o, score);
      total += o.weight;
      if (score > bestScore) {
        best = o;
        bestScore = score;
      }
    }
    if (best) this.scores.set(best, bestScore - total);
    return best;
  }
}

/**
 * Power of two choices, least request: two random available origins, the one with fewer requests in flight
 * per unit of weight wins. Close to least-loaded without scanning, and without herding on one origin.
 */
export class LeastRequest implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(origins: readonly Origin[], now: number, exclude?: Origin): Origin | undefined {
    let available = 0;
    for (const o of origins) if (o !== exclude && o.isAvailable(now)) available++;
    if (available === 0) return undefined;
    const a = this.nth(origins, now, exclude, Math.floor(this.random() * available));
    if (available === 1) return a;
    let j = Math.floor(this.random() * (available - 1));
    const ia = this.indexAmongAvailable(origins, now, exclude, a);
    if (j >= ia) j++;
    const b = this.nth(origins, now, exclude, j);
    return a.inflight / a.weight <= b.inflight / b.weight ? a : b;
  }

  private nth(origins: readonly Origin[], now: number, exclude: Origin | undefined, n: number): Origin {
    let i = 0;
    for (const o of origins) {
      if (o === exclude || !o.isAvailable(now)) continue;
      if (i++ === n) return o;
    }
    throw new Error('unreachable: n is below the available count');
  }

  private indexAmongAvailable(origins: readonly Origin[], now: number, exclude: Origin | undefined, t: Origin) {
    let i = 0;
    for (const o of origins) {
      if (o === exclude || !o.isAvailable(now)) continue;
      if (o === t) return i;
      i++;
    }
    return -1;
  }
}
