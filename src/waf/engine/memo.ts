/**
 * Answers of pure functions of one value, kept across requests. Real traffic repeats most of its values (the same
 * browser sends the same User-Agent, Accept and cookies on every request), so the detectors and the regex prefilter
 * remember them. Bounded twice: long values are never kept, and a full memo starts over, so a client that sends
 * endless distinct values costs only the work it would have cost without the memo.
 */
/**
 * Values longer than the usual memo's keys but up to this many characters (a page, a JSON document) go to small
 * memos of their own: a page served unchanged is inspected once, while a unique value costs one hash of at most
 * this many characters on top of its inspection.
 */
export const LONG_MEMO_CHARS = 8192;

/**
 * The transaction the doorkeepers count sightings for. A request holds many values twice (REQUEST_URI and
 * REQUEST_URI_RAW, ARGS:id and ARGS_GET:id): counted as two sightings, every unique id and URI was admitted, lived
 * until the memo filled, and was promoted to the old generation on the way.
 * Transactions interleave across awaits, so a sighting may be put down to a later transaction: an approximation of
 * the same kind as the hashes'.
 */
let generation = 1;

/** Called when a transaction starts: what its values repeat among themselves is not a second sighting. */
export function startMemoGeneration(): void {
  generation = generation === 0xffffffff ? 1 : generation + 1;
}

/** `T` never includes undefined: a miss is told by it, without a second lookup. */
export class ValueMemo<T extends NonNullable<unknown> | null> {
  private map = new Map<string, T>();
  /**
   * Hashes of values seen once: an answer is kept only for a value seen before (admission on the second sighting,
   * like TinyLFU's doorkeeper). Values unique to one request (an id, a URI, a body) then never enter the memo, where
   * keeping them cost more than computing them again: whatever a memo holds survives the young generation and is
   * copied by scavenges. Hashes, not the strings, so the doorkeeper keeps nothing alive; a collision admits a value
   * a sighting early, an overwritten slot admits it a sighting late: it is never wrong, only approximate.
   */
  private readonly seenOnce: Uint32Array;
  /** The generation each slot of seenOnce was written in. */
  private readonly seenIn: Uint32Array;

  constructor(
    private readonly capacity = 8192,
    private readonly maxKeyLength = 512,
  ) {
    this.seenOnce = new Uint32Array(2 ** Math.ceil(Math.log2(capacity * 2)));
    this.seenIn = new Uint32Array(this.seenOnce.length);
  }

  get(value: string, compute: (value: string) => T): T {
    if (value.length > this.maxKeyLength) return compute(value);
    let out = this.map.get(value);
    if (out === undefined) {
      out = compute(value);
      if (this.seenBefore(value)) {
        if (this.map.size >= this.capacity) this.map = new Map();
        this.map.set(value, out);
      }
    }
    return out;
  }

  /** Two slots per hash: two values that share one slot would otherwise evict each other forever. */
  private seenBefore(value: string): boolean {
    const h = sampleHash(value);
    const mask = this.seenOnce.length - 1;
    const a = h & mask;
    const b = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0) & mask;
    if (this.seenOnce[a] === h) return this.seenIn[a] !== generation;
    if (this.seenOnce[b] === h) return this.seenIn[b] !== generation;
    this.seenOnce[a] = h;
    this.seenOnce[b] = h;
    this.seenIn[a] = generation;
    this.seenIn[b] = generation;
    return false;
  }
}

/** FNV-1a over the length and 64 to 127 characters spread along the value: bounded work even for long values. */
export function sampleHash(value: string): number {
  const n = value.length;
  const step = n > 64 ? Math.floor(n / 64) : 1;
  let h = (0x811c9dc5 ^ n) >>> 0;
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193) >>> 0;
  return (h | 1) >>> 0;
}
