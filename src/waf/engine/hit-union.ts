/** Or-ing prefilter answers (which patterns a value may match) into one answer for a list of values. */
import { NO_PATTERNS, type PatternBits } from './prefilter.js';

/**
 * Collects the answers of a list's values, then or-s them. Answers are never written once made, so a single
 * non-empty answer is returned as it is; `unknown` once a Set gave up on a value (its patterns must all run).
 */
export class HitUnion {
  unknown = false;
  /** The non-empty answers added since reset, in order; reused from one union to the next. */
  private readonly parts: PatternBits[] = [];
  private count = 0;

  reset(): this {
    this.unknown = false;
    this.count = 0;
    return this;
  }

  add(h: PatternBits | null): void {
    if (h === NO_PATTERNS || this.unknown) return;
    if (h === null) {
      this.unknown = true;
      return;
    }
    this.parts[this.count++] = h;
  }

  /**
   * The patterns any value may match; undefined: none. Meaningless once `unknown`. With a memo, the union made
   * last time in this slot is returned when it was made of the very same answers.
   */
  bits(memo?: UnionMemo, slot = -1): PatternBits | undefined {
    const n = this.count;
    if (n === 0) return undefined;
    if (n === 1) return this.parts[0];
    if (memo) {
      const hit = memo.lookup(slot, this.parts, n);
      if (hit) return hit;
    }
    const out = Uint32Array.from(this.parts[0]!);
    for (let k = 1; k < n; k++) {
      const h = this.parts[k]!;
      for (let w = 0; w < h.length; w++) out[w]! |= h[w]!;
    }
    memo?.store(slot, this.parts, n, out);
    return out;
  }
}

/**
 * The last union per slot across requests, with the answers it was made of. Repeated values (a browser's headers)
 * keep their answer objects in the cross-request memos, so the union of a header list is made of the same objects
 * request after request: compared by identity, it is found again instead of being allocated and or-ed (~90 unions
 * a GET with CRS). Holds one union per slot; never wrong, since answers and unions are never written once made.
 */
export class UnionMemo {
  private readonly parts: (readonly PatternBits[] | undefined)[];
  private readonly unions: (PatternBits | undefined)[];

  constructor(slots: number) {
    this.parts = new Array<readonly PatternBits[] | undefined>(slots).fill(undefined);
    this.unions = new Array<PatternBits | undefined>(slots).fill(undefined);
  }

  lookup(slot: number, parts: readonly PatternBits[], n: number): PatternBits | undefined {
    const last = this.parts[slot];
    if (last === undefined || last.length !== n) return undefined;
    for (let k = 0; k < n; k++) if (last[k] !== parts[k]) return undefined;
    return this.unions[slot];
  }

  store(slot: number, parts: readonly PatternBits[], n: number, union: PatternBits): void {
    if (slot < 0 || slot >= this.parts.length) return;
    this.parts[slot] = parts.slice(0, n);
    this.unions[slot] = union;
  }
}
