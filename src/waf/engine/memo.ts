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

export class ValueMemo<T> {
  private map = new Map<string, T>();
  /**
   * Values seen once: an answer is kept only for a value seen before (admission on the second sighting, like
   * TinyLFU's doorkeeper). Values unique to one request (an id, a URI, a body) then never enter the memo: keeping
   * their answers cost more than computing them, because everything a memo holds survives the young generation
   * and is copied by each scavenge (about 40 KB a request before this, measured on a browser GET with CRS).
   */
  private seenOnce = new Set<string>();

  constructor(
    private readonly capacity = 8192,
    private readonly maxKeyLength = 512,
  ) {}

  get(value: string, compute: (value: string) => T): T {
    if (value.length > this.maxKeyLength) return compute(value);
    let out = this.map.get(value);
    if (out === undefined && !this.map.has(value)) {
      out = compute(value);
      if (this.seenOnce.delete(value)) {
        if (this.map.size >= this.capacity) this.map = new Map();
        this.map.set(value, out);
      } else {
        if (this.seenOnce.size >= this.capacity) this.seenOnce = new Set();
        this.seenOnce.add(value);
      }
    }
    return out as T;
  }
}
