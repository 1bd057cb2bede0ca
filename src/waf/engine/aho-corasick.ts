/**
 * Phrase matching for `@pm` and `@pmFromFile`: one Aho-Corasick automaton built at load, one pass per value.
 * Case-insensitive over ASCII letters only, as ModSecurity's matcher is; other bytes compare exactly.
 */

export class PhraseMatcher {
  /** Goto edges as one map keyed by `state * 256 + byte`: one lookup per input byte, no per-state objects. */
  private readonly edges = new Map<number, number>();
  private readonly fail: number[] = [0];
  /** Index of the phrase that ends at a state (directly or through its fail chain), or -1. */
  private readonly output: number[] = [-1];
  private readonly phrases: string[];

  constructor(phrases: readonly string[]) {
    this.phrases = phrases.filter((p) => p.length > 0);
    let states = 1;
    this.phrases.forEach((phrase, index) => {
      let s = 0;
      for (let i = 0; i < phrase.length; i++) {
        const c = fold(phrase.charCodeAt(i) & 0xff);
        const key = s * 256 + c;
        let next = this.edges.get(key);
        if (next === undefined) {
          next = states++;
          this.edges.set(key, next);
          this.fail.push(0);
          this.output.push(-1);
        }
        s = next;
      }
      if (this.output[s] === -1) this.output[s] = index;
    });
    this.buildFailLinks();
  }

  get size(): number {
    return this.phrases.length;
  }

  private buildFailLinks(): void {
    const children = new Map<number, [number, number][]>();
    for (const [key, to] of this.edges) {
      const from = Math.floor(key / 256);
      let list = children.get(from);
      if (!list) children.set(from, (list = []));
      list.push([key % 256, to]);
    }
    const queue: number[] = [];
    for (const [, to] of children.get(0) ?? []) {
      this.fail[to] = 0;
      queue.push(to);
    }
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head]!;
      for (const [c, to] of children.get(s) ?? []) {
        let f = this.fail[s]!;
        while (f !== 0 && !this.edges.has(f * 256 + c)) f = this.fail[f]!;
        const target = this.edges.get(f * 256 + c);
        this.fail[to] = target !== undefined && target !== to ? target : 0;
        if (this.output[to] === -1) this.output[to] = this.output[this.fail[to]!]!;
        queue.push(to);
      }
    }
  }

  /** The first phrase found scanning left to right, or undefined. */
  find(subject: string): string | undefined {
    let s = 0;
    const edges = this.edges;
    for (let i = 0; i < subject.length; i++) {
      const c = fold(subject.charCodeAt(i) & 0xff);
      let next = edges.get(s * 256 + c);
      while (next === undefined && s !== 0) {
        s = this.fail[s]!;
        next = edges.get(s * 256 + c);
      }
      s = next ?? 0;
      const out = this.output[s]!;
      if (out !== -1) return subject.slice(i + 1 - this.phrases[out]!.length, i + 1);
    }
    return undefined;
  }
}

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
