/**
 * What a transaction works out about its values, shared by the rules that read them: resolved target lists, views
 * (a list through one transformation chain), transformed forms, prefilter answers per view and per target, and
 * answers of pure operators. Request data changes only between phases; `forget` drops what read a changed variable.
 */
import { HitUnion } from './hit-union.js';
import { LONG_MEMO_CHARS } from './memo.js';
import type { OperatorContext, OperatorMatch } from './operators.js';
import { hasPattern, type Dependents, type PatternBits, type RegexPrefilter } from './prefilter.js';
import { toSubject } from './regex.js';
import type { RuleSet } from './compile.js';
import type { Exclusion, Rule } from './rule.js';
import {
  derivedForm,
  resolveTarget,
  singleValue,
  valueView,
  WALK,
  type Derived,
  type ValueView,
  type VarValue,
  type VariableSource,
} from './variables.js';

/** The transaction, as the views need it: its variables, its run-time exclusions, and itself for operators. */
export interface ViewSource extends VariableSource, OperatorContext {}

export class ValueViews {
  private readonly subjects = new Map<string, Buffer>();
  private readonly transforms = new Map<string, Map<string, string>>();
  /**
   * Per target signature, the values resolved, and per (signature, transformation chain) the shared view. Request
   * data changes only between phases, and only the entries reading a changed variable are dropped (`forget`).
   */
  private readonly valuesCache: (readonly VarValue[] | undefined)[];
  private readonly views: (ValueView | undefined)[];
  /** The same for rules with targets removed at run time, keyed by view or target list and the removed targets. */
  private readonly excludedViews = new Map<string, ValueView>();
  private readonly excludedValues = new Map<string, VarValue[]>();
  /** Per unionId (see Rule.unionId): the patterns any value may match, null: unknown, false: none. */
  private readonly unions: (PatternBits | null | false | undefined)[];
  /** Per unit (see Rule.unitIds): the patterns one target's values may match through one chain. */
  private readonly units: (PatternBits | null | false | undefined)[];
  /** Per unit target: its values, exclusions ignored (read through each chain by the units). */
  private readonly unitValues: (VarValue[] | undefined)[];
  private readonly excludedUnions = new Map<string, PatternBits | null | false>();
  /** Per distinct value, the `@rx` patterns the prefilter found in it (null: a Set gave up, run them all). */
  private readonly setMatches = new Map<string, PatternBits | null>();
  /** Reused by scan and unitHits, which never run inside each other. */
  private readonly union = new HitUnion();

  constructor(
    private readonly ruleSet: RuleSet,
    private readonly source: ViewSource,
  ) {
    // Filled out of order by rule: sized up front so that they stay plain arrays (a far write grows or sparsifies).
    this.valuesCache = new Array(ruleSet.slots.targets).fill(undefined);
    this.views = new Array(ruleSet.slots.views).fill(undefined);
    this.unions = new Array(ruleSet.slots.unions).fill(undefined);
    this.units = new Array(ruleSet.slots.units).fill(undefined);
    this.unitValues = new Array(ruleSet.slots.unitTargets).fill(undefined);
  }

  /** Drops the cached target lists and views that read a variable whose value just changed. */
  forget(d: Dependents): void {
    for (const id of d.targets) this.valuesCache[id] = undefined;
    for (const id of d.views) this.views[id] = undefined;
    for (const id of d.unions) this.unions[id] = undefined;
    for (const id of d.units) this.units[id] = undefined;
    for (const id of d.unitTargets) this.unitValues[id] = undefined;
    // Few and made once per phase at most: dropped whole rather than tracked per variable.
    if (this.excludedViews.size) {
      this.excludedViews.clear();
      this.excludedValues.clear();
      this.excludedUnions.clear();
    }
  }

  subject(value: string): Buffer {
    let b = this.subjects.get(value);
    if (b === undefined) {
      b = toSubject(value);
      if (this.subjects.size < 4096) this.subjects.set(value, b);
    }
    return b;
  }

  viewFor(rule: Rule): ValueView {
    const runtime = this.source.runtimeExclusions(rule);
    if (rule.viewId < 0) return this.volatileView(rule, runtime);
    if (runtime !== undefined) return this.excludedViewFor(rule, runtime);
    const hit = this.views[rule.viewId];
    if (hit) return hit;
    let values = this.valuesCache[rule.targetsId];
    if (!values) this.valuesCache[rule.targetsId] = values = this.resolve(rule, undefined);
    return (this.views[rule.viewId] = valueView(values));
  }

  /**
   * Views of rules that a ctl removed targets from, shared by the rules with the same targets, chain and removed
   * targets: CRS removes one target from its ~30 XSS rules by tag on every request, and each used to resolve and
   * scan the same values again.
   */
  private excludedViewFor(rule: Rule, runtime: readonly Exclusion[]): ValueView {
    const listKey = exclusionListKey(runtime);
    const key = `${rule.viewId} ${listKey}`;
    const hit = this.excludedViews.get(key);
    if (hit) return hit;
    const valuesKey = `${rule.targetsId} ${listKey}`;
    let values = this.excludedValues.get(valuesKey);
    if (!values) this.excludedValues.set(valuesKey, (values = this.resolve(rule, runtime)));
    const view = valueView(values);
    this.excludedViews.set(key, view);
    return view;
  }

  /**
   * Rules on TX and the like resolve afresh each time. Most read one value: its view hangs off the value object
   * (per chain), which lives as long as the value does, so ~170 such reads a request allocate nothing.
   */
  private volatileView(rule: Rule, runtime: readonly Exclusion[] | undefined): ValueView {
    if (rule.targets.length === 1) {
      const one = singleValue(this.source, rule.targets[0]!, rule.exclusions, runtime);
      if (one === undefined) return NO_VALUES;
      if (one !== WALK) return ((one.solo ??= [])[rule.chainId] ??= valueView([one]));
    }
    return valueView(this.resolve(rule, runtime));
  }

  private resolve(rule: Rule, runtime: readonly Exclusion[] | undefined): VarValue[] {
    const list: VarValue[] = [];
    for (const t of rule.targets) resolveTarget(this.source, t, rule.exclusions, runtime, list);
    return list;
  }

  transformedAt(rule: Rule, view: ValueView, i: number): string {
    // No chain (most TX checks): the value itself, without looking up the value's derived forms.
    if (rule.transforms.length === 0) return view.values[i]!.value;
    return this.derive(rule, view.values[i]!).transformed;
  }

  /** The value through the rule's chain, once per (value object, chain) in the transaction. */
  private derive(rule: Rule, v: VarValue): Derived {
    const all = this.derivedByChain(v);
    let d = all[rule.chainId];
    if (d === undefined) all[rule.chainId] = d = derivedForm(this.transformed(rule, v.value));
    return d;
  }

  /** The value's derived forms by chain id; short values share them across requests (headers repeat). */
  private derivedByChain(v: VarValue): Derived[] {
    const n = v.value.length;
    return (v.derived ??=
      n <= 512
        ? this.ruleSet.derivedMemo.get(v.value, () => [])
        : n <= LONG_MEMO_CHARS
          ? this.ruleSet.longDerivedMemo.get(v.value, () => [])
          : []);
  }

  mayMatchAnyTarget(rule: Rule): boolean {
    // First the superset answer shared by target: most rules stop here without their own view.
    if (rule.unitIds.length > 0 && !this.unitsMayMatch(rule)) return false;
    const runtime = this.source.runtimeExclusions(rule);
    let key: string | undefined;
    let union: PatternBits | null | false | undefined;
    if (rule.unionId < 0) union = undefined;
    else if (runtime === undefined) union = this.unions[rule.unionId];
    else union = this.excludedUnions.get((key = `${rule.unionId} ${exclusionListKey(runtime)}`));
    if (union === undefined) {
      const view = this.viewFor(rule);
      if (view.hits === undefined) this.scan(rule, view);
      union = view.anyHits ? view.union! : false;
      if (key !== undefined) this.excludedUnions.set(key, union);
      else if (rule.unionId >= 0) this.unions[rule.unionId] = union;
    }
    return union !== false && (union === null || hasPattern(union, rule.prefilterIndex));
  }

  unitsMayMatch(rule: Rule): boolean {
    const ids = rule.unitIds;
    for (let t = 0; t < ids.length; t++) {
      let bits = this.units[ids[t]!];
      if (bits === undefined) this.units[ids[t]!] = bits = this.unitHits(rule, t);
      if (bits === null || (bits !== false && hasPattern(bits, rule.prefilterIndex))) return true;
    }
    return false;
  }

  /** The patterns any value of one target may match through the rule's chain, exclusions ignored. */
  private unitHits(rule: Rule, t: number): PatternBits | null | false {
    const slot = rule.unitTargetIds[t]!;
    let values = this.unitValues[slot];
    if (values === undefined) {
      this.unitValues[slot] = values = [];
      resolveTarget(this.source, rule.targets[t]!, NO_EXCLUSIONS, undefined, values);
    }
    const union = this.union.reset();
    for (const v of values) {
      union.add(this.hitsOf(rule, v));
      if (union.unknown) return null;
    }
    return union.bits(this.ruleSet.unitUnions, rule.unitIds[t]!) ?? false;
  }

  /** The prefilter's answer for one value through the rule's chain, kept with the value's derived forms. */
  private hitsOf(rule: Rule, v: VarValue): PatternBits | null {
    const d = this.derive(rule, v);
    return d.hits === undefined ? (d.hits = this.prefilterHits(rule.prefilter!, d.transformed)) : d.hits;
  }

  mayMatchAt(rule: Rule, view: ValueView, i: number): boolean {
    if (view.hits === undefined) this.scan(rule, view);
    const hits = view.hits![i]!;
    return hits === null || hasPattern(hits, rule.prefilterIndex);
  }

  mayMatch(rule: Rule, value: string): boolean {
    const hits = this.prefilterHits(rule.prefilter!, value);
    return hits === null || hasPattern(hits, rule.prefilterIndex);
  }

  /** The prefilter's answer for one value, computed once per distinct value in the transaction. */
  private prefilterHits(prefilter: RegexPrefilter, value: string): PatternBits | null {
    let hits = this.setMatches.get(value);
    if (hits === undefined) {
      hits = value.length > LONG_MEMO_CHARS ? prefilter.match(this.subject(value)) : prefilter.matchValue(value);
      this.setMatches.set(value, hits);
    }
    return hits;
  }

  /** The prefilter's answer for each transformed value of the view, and their union. */
  private scan(rule: Rule, view: ValueView): void {
    const values = view.values;
    const hits: (PatternBits | null)[] = new Array<PatternBits | null>(values.length);
    const union = this.union.reset();
    for (let i = 0; i < values.length; i++) union.add((hits[i] = this.hitsOf(rule, values[i]!)));
    view.hits = hits;
    const bits = union.unknown ? undefined : union.bits();
    view.anyHits = union.unknown || bits !== undefined;
    view.union = bits ?? null;
  }

  operatorRun(rule: Rule, value: string): OperatorMatch | null {
    return rule.operator.run(this.source, value, rule.capture);
  }

  operatorRunAt(rule: Rule, view: ValueView, i: number, value: string): OperatorMatch | null {
    if (rule.opSlot < 0) return rule.operator.run(this.source, value, rule.capture);
    const ops = (this.derive(rule, view.values[i]!).ops ??= []);
    let m = ops[rule.opSlot];
    if (m === undefined) ops[rule.opSlot] = m = rule.operator.run(this.source, value, rule.capture);
    return m;
  }

  transformed(rule: Rule, value: string): string {
    if (rule.transforms.length === 0) return value;
    let cache = this.transforms.get(rule.transformKey);
    if (!cache) this.transforms.set(rule.transformKey, (cache = new Map()));
    let out = cache.get(value);
    if (out === undefined) {
      out = value;
      for (const t of rule.transforms) out = t(out);
      cache.set(value, out);
    }
    return out;
  }

  transformedAll(rule: Rule, v: VarValue): readonly string[] {
    const byChain = this.derivedByChain(v);
    let d = byChain[rule.chainId];
    if (d?.all) return d.all;
    const forms = [v.value];
    let cur = v.value;
    for (const t of rule.transforms) {
      const next = t(cur);
      if (next !== cur) forms.push(next);
      cur = next;
    }
    // The walk ends at the chain's transformed value: one pass gives both.
    if (d === undefined) byChain[rule.chainId] = d = derivedForm(cur);
    return (d.all = forms);
  }

  /**
   * The request phases are over; what they cached about request values is of little use to the response phases
   * and would stay alive for the whole trip to the origin: with a few requests in flight, every scavenge copied it
   * (about a megabyte each time with 8 in flight) and then promoted it to the old generation. Dropped here, it dies
   * young; a response-phase rule that reads a request variable resolves it again.
   */
  release(): void {
    this.valuesCache.fill(undefined);
    this.views.fill(undefined);
    this.unions.fill(undefined);
    this.units.fill(undefined);
    this.unitValues.fill(undefined);
    this.excludedViews.clear();
    this.excludedValues.clear();
    this.excludedUnions.clear();
    this.setMatches.clear();
    this.subjects.clear();
    this.transforms.clear();
  }
}

const NO_EXCLUSIONS: readonly Exclusion[] = [];

/** The view of a target with no value; shared, so what scans write on it must hold for every empty view (it does). */
const NO_VALUES: ValueView = valueView([]);

const exclusionIds = new WeakMap<Exclusion, number>();
let nextExclusionId = 0;

/** Equal for lists holding the same exclusion objects (made once at load, by the ctl actions that name them). */
function exclusionListKey(list: readonly Exclusion[]): string {
  let key = '';
  for (const x of list) {
    let id = exclusionIds.get(x);
    if (id === undefined) exclusionIds.set(x, (id = nextExclusionId++));
    key += `${id},`;
  }
  return key;
}
