/**
 * Phrase matching for `@pm` and `@pmFromFile`: an Aho-Corasick automaton built at load into a dense transition
 * table, so a value costs one table read per byte. Case-insensitive over ASCII letters only, as ModSecurity's
 * matcher is; other bytes compare exactly.
 */

export class PhraseMatcher {
  private readonly phrases: string[];
  /** Byte → column of the table; letters share a column with their other case, bytes in no phrase share column 0. */
  private readonly columnOf = new Uint8Array(256);
  private readonly width: number;
  /** `next[state * width + column]`: goto edges with fail links folded in. */
  private readonly next: Uint16Array | Uint32Array;
  /** Index of the phrase that ends at a state (directly or through its fail chain), or -1. */
  private readonly output: Int32Array;

  constructor(phrases: readonly string[]) {
    this.phrases = phrases.filter((p) => p.length > 0);
    let columns = 1;
    for (const p of this.phrases) {
      for (let i = 0; i < p.length; i++) {
        const c = fold(p.charCodeAt(i) & 0xff);
        if (this.columnOf[c] === 0) {
          this.columnOf[c] = columns++;
          if (c >= 97 && c <= 122) this.columnOf[c - 32] = this.columnOf[c]!;
        }
      }
    }
    this.width = columns;
    const trie = buildTrie(this.phrases, this.columnOf);
    const states = trie.goto.length;
    const next = states < 0x10000 ? new Uint16Array(states * columns) : new Uint32Array(states * columns);
    const output = new Int32Array(trie.output);
    const fail = new Int32Array(states);
    // Breadth first: a state's fail target is shallower, so its row is complete when the state is reached.
    const queue: number[] = [0];
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head]!;
      const edges = trie.goto[s]!;
      for (let c = 0; c < columns; c++) {
        const to = edges.get(c);
        if (to !== undefined) {
          fail[to] = s === 0 ? 0 : next[fail[s]! * columns + c]!;
          if (output[to] === -1) output[to] = output[fail[to]!]!;
          next[s * columns + c] = to;
          queue.push(to);
        } else next[s * columns + c] = s === 0 ? 0 : next[fail[s]! * columns + c]!;
      }
    }
    this.next = next;
    this.output = output;
  }

  get size(): number {
    return this.phrases.length;
  }

  /** The first phrase found scanning left to right, or undefined. */
  find(subject: string): string | undefined {
    const { next, output, columnOf, width } = this;
    let s = 0;
    for (let i = 0; i < subject.length; i++) {
      s = next[s * width + columnOf[subject.charCodeAt(i) & 0xff]!]!;
      const out = output[s]!;
      if (out !== -1) return subject.slice(i + 1 - this.phrases[out]!.length, i + 1);
    }
    return undefined;
  }
}

function buildTrie(
  phrases: readonly string[],
  columnOf: Uint8Array,
): { goto: Map<number, number>[]; output: number[] } {
  const goto: Map<number, number>[] = [new Map()];
  const output: number[] = [-1];
  phrases.forEach((phrase, index) => {
    let s = 0;
    for (let i = 0; i < phrase.length; i++) {
      const c = columnOf[phrase.charCodeAt(i) & 0xff]!;
      let to = goto[s]!.get(c);
      if (to === undefined) {
        to = goto.length;
        goto.push(new Map());
        output.push(-1);
        goto[s]!.set(c, to);
      }
      s = to;
    }
    if (output[s] === -1) output[s] = index;
  });
  return { goto, output };
}

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
