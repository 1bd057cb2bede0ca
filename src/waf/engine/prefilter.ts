/**
 * Load-time work that cuts per-request work:
 * - RE2.Sets hold every fixed `@rx` pattern, so each distinct (transformed) value of a request is scanned once and
 *   only the patterns the Sets name are run on their own (for captures); on benign traffic that is a handful;
 * - each rule's target list gets a signature, so rules that read the same variables share one resolved list per
 *   phase instead of walking the collections again.
 */
import { LONG_MEMO_CHARS, ValueMemo } from './memo.js';
import { compileRegexSet, toSubject, type RegexSet } from './regex.js';
import { isMarker, type ProgramEntry, type Rule, type Target } from './rule.js';

/**
 * Every fixed `@rx` pattern of the rule set in as few RE2.Sets as RE2 accepts (a Set's program has a memory cap, so
 * CRS's ~300 patterns need a few): one pass per Set says which patterns match a value.
 */
export class RegexPrefilter {
  constructor(
    private readonly chunks: readonly Chunk[],
    readonly size: number,
  ) {}

  get setCount(): number {
    return this.chunks.length;
  }

  private readonly memo = new ValueMemo<PatternBits | null>();
  private readonly longMemo = new ValueMemo<PatternBits | null>(64, LONG_MEMO_CHARS);
  /** Every distinct answer made, by its bits as a string (see canonical). */
  private readonly answers = new Map<string, PatternBits>();

  /** `match` for a value as a string, remembered across requests for values up to LONG_MEMO_CHARS. */
  matchValue(value: string): PatternBits | null {
    return (value.length <= 512 ? this.memo : this.longMemo).get(value, (v) => this.match(toSubject(v)));
  }

  /** The patterns that match the value, as bits; null when a Set gave up and every pattern must run alone. */
  match(subject: Buffer): PatternBits | null {
    let out: Uint32Array | undefined;
    for (const { set, offset } of this.chunks) {
      let hits: number[];
      try {
        hits = set.match(subject);
      } catch {
        // RE2.Set throws when its DFA runs out of memory on a hostile value.
        return null;
      }
      if (hits.length === 0) continue;
      out ??= new Uint32Array((this.size + 31) >>> 5);
      for (const h of hits) out[(h + offset) >>> 5]! |= 1 << ((h + offset) & 31);
    }
    return out === undefined ? NO_PATTERNS : this.canonical(out);
  }

  /**
   * One object per distinct answer. Values unique to a request (an id, a URI) mostly give answers seen before; as
   * the same object, the unions that hold them are found again in the UnionMemo instead of being made anew.
   */
  private canonical(bits: PatternBits): PatternBits {
    let key = '';
    for (let w = 0; w < bits.length; w++) key += String.fromCharCode(bits[w]! & 0xffff, bits[w]! >>> 16);
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    // Bounded: a client that makes many different answers only starts the table over.
    if (this.answers.size >= 4096) this.answers.clear();
    this.answers.set(key, bits);
    return bits;
  }
}

/** Pattern indexes as a bitset: bit i of word i >> 5. */
export type PatternBits = Uint32Array;

/** The answer for most values: no pattern matches. Compared by identity. */
export const NO_PATTERNS: PatternBits = new Uint32Array(0);

export function hasPattern(bits: PatternBits, index: number): boolean {
  const word = bits[index >>> 5];
  return word !== undefined && (word & (1 << (index & 31))) !== 0;
}

interface Chunk {
  readonly set: RegexSet;
  /** The global index of the Set's first pattern, and how many it holds. */
  readonly offset: number;
  readonly count: number;
}

/** Splits the patterns in halves until each part compiles as one Set; a pattern no Set takes is left out. */
function buildChunks(patterns: readonly string[], offset: number, out: Chunk[]): void {
  if (patterns.length === 0) return;
  const set = compileRegexSet(patterns);
  if (set) {
    out.push({ set, offset, count: patterns.length });
    return;
  }
  if (patterns.length === 1) return;
  const half = Math.ceil(patterns.length / 2);
  buildChunks(patterns.slice(0, half), offset, out);
  buildChunks(patterns.slice(half), offset + half, out);
}

/** The cached target lists and views that read a variable: what to forget when the variable changes. */
export interface Dependents {
  readonly targets: number[];
  readonly views: number[];
  readonly unions: number[];
  readonly units: number[];
  readonly unitTargets: number[];
}

/** Variables whose values change inside a phase (setvar, matches, clocks): their rules resolve afresh each time. */
const VOLATILE = new Set([
  'TX',
  'MATCHED_VAR',
  'MATCHED_VARS',
  'MATCHED_VAR_NAME',
  'MATCHED_VARS_NAMES',
  'DURATION',
  'HIGHEST_SEVERITY',
  'RULE',
  'IP',
  'GLOBAL',
  'SESSION',
  'USER',
  'RESOURCE',
  'ENV',
  'UNCONDITIONAL',
]);

function rulesOf(programs: readonly (readonly ProgramEntry[])[]): Rule[] {
  const out: Rule[] = [];
  for (const program of programs)
    for (const e of program) if (!isMarker(e)) for (let r: Rule | undefined = e; r; r = r.chain) out.push(r);
  return out;
}

/** Sets `chainId`, `prefilter`, `prefilterIndex`, `targetsId` and `viewId` on every rule of the programs. */
export function attachPrefilters(programs: readonly (readonly ProgramEntry[])[]): {
  sets: number;
  patterns: number;
  targetLists: number;
  dependents: Map<string, Dependents>;
  slots: { targets: number; views: number; unions: number; units: number; unitTargets: number };
} {
  const rules = rulesOf(programs);
  const index = new Map<string, number>();
  for (const r of rules)
    if (r.operator.regex && !index.has(r.operator.regex.source)) index.set(r.operator.regex.source, index.size);
  const patterns = [...index.keys()];
  const chunks: Chunk[] = [];
  buildChunks(patterns, 0, chunks);
  const covered = new Set<number>();
  for (const c of chunks) for (let i = c.offset; i < c.offset + c.count; i++) covered.add(i);
  const prefilter = new RegexPrefilter(chunks, patterns.length);
  for (const r of rules) {
    const i = r.operator.regex ? index.get(r.operator.regex.source)! : -1;
    r.prefilter = i >= 0 && covered.has(i) ? prefilter : undefined;
    r.prefilterIndex = r.prefilter ? i : -1;
  }
  const signatures = new Map<string, number>();
  const views = new Map<string, number>();
  const unions = new Map<string, number>();
  const units = new Map<string, number>();
  const unitTargets = new Map<string, number>();
  const opSlots: number[] = [];
  const chains = new Map<string, number>();
  const dependents = new Map<string, Dependents>();
  for (const r of rules) {
    let chainId = chains.get(r.transformKey);
    if (chainId === undefined) chains.set(r.transformKey, (chainId = chains.size));
    r.chainId = chainId;
    // Numbered per chain: a value's derived forms hold the answers of the few rules that read through its chain.
    if (r.operator.pure && !r.multiMatch) {
      r.opSlot = opSlots[chainId] ?? 0;
      opSlots[chainId] = r.opSlot + 1;
    }
    const sig = signature(r);
    if (sig === undefined) {
      r.targetsId = -1;
      r.viewId = -1;
      r.unionId = -1;
      r.unitIds = [];
      r.unitTargetIds = [];
      continue;
    }
    let id = signatures.get(sig);
    if (id === undefined) signatures.set(sig, (id = signatures.size));
    r.targetsId = id;
    const viewKey = `${id} ${r.transformKey}`;
    let viewId = views.get(viewKey);
    if (viewId === undefined) views.set(viewKey, (viewId = views.size));
    r.viewId = viewId;
    const unionKey = `${signature(r, true)} ${r.transformKey}`;
    let unionId = unions.get(unionKey);
    if (unionId === undefined) unions.set(unionKey, (unionId = unions.size));
    r.unionId = unionId;
    const unitIds: number[] = [];
    const unitTargetIds: number[] = [];
    for (const t of r.targets) {
      const targetKey = targetSignature(t);
      const unitKey = `${targetKey} ${r.transformKey}`;
      let unitId = units.get(unitKey);
      if (unitId === undefined) units.set(unitKey, (unitId = units.size));
      unitIds.push(unitId);
      let unitTargetId = unitTargets.get(targetKey);
      if (unitTargetId === undefined) unitTargets.set(targetKey, (unitTargetId = unitTargets.size));
      unitTargetIds.push(unitTargetId);
      let d = dependents.get(t.variable);
      if (!d) dependents.set(t.variable, (d = { targets: [], views: [], unions: [], units: [], unitTargets: [] }));
      if (!d.targets.includes(id)) d.targets.push(id);
      if (!d.views.includes(viewId)) d.views.push(viewId);
      if (!d.unions.includes(unionId)) d.unions.push(unionId);
      if (!d.units.includes(unitId)) d.units.push(unitId);
      if (!d.unitTargets.includes(unitTargetId)) d.unitTargets.push(unitTargetId);
    }
    r.unitIds = unitIds;
    r.unitTargetIds = unitTargetIds;
    r.fastReject =
      r.prefilter !== undefined && !r.operator.negated && !r.multiMatch && !r.isChainLink && unitIds.length > 0;
  }
  const slots = {
    targets: signatures.size,
    views: views.size,
    unions: unions.size,
    units: units.size,
    unitTargets: unitTargets.size,
  };
  return { sets: chunks.length, patterns: patterns.length, targetLists: signatures.size, dependents, slots };
}

function targetSignature(t: Target): string {
  return `${t.count ? '&' : ''}${t.variable}:${t.key ?? ''}:${t.regex?.source ?? ''}`;
}

/** The rule's targets and exclusions as text; `anyOrder`: the same for every order they are listed in. */
function signature(rule: Rule, anyOrder = false): string | undefined {
  const targets: string[] = [];
  for (const t of rule.targets) {
    if (VOLATILE.has(t.variable)) return undefined;
    targets.push(targetSignature(t));
  }
  const exclusions = rule.exclusions.map((x) => `${x.variable}:${x.key ?? ''}:${x.regex?.source ?? ''}`);
  if (anyOrder) {
    targets.sort();
    exclusions.sort();
  }
  return [...targets, '!', ...exclusions].join('|');
}
