/**
 * Directives into a rule set: defaults merged, chains linked, removals and target updates applied in file order,
 * markers placed in every phase and skipAfter jumps resolved to indexes. Problems carry the file and line of the
 * directive; a rule set with any problem is refused as a whole.
 */
import { dirname } from 'node:path';
import type { Directive, SecLangProblem, VariableSpec } from '../seclang/types.js';
import { applyActions, emptyFields, keyMatcher, parseIdRanges, type ActionFields } from './compile-actions.js';
import { compileOperator } from './operators.js';
import { UnionMemo } from './hit-union.js';
import { attachPrefilters, type Dependents } from './prefilter.js';
import { LONG_MEMO_CHARS, ValueMemo } from './memo.js';
import { COLLECTIONS, ConstantValues, type Derived } from './variables.js';
import {
  isMarker,
  type Exclusion,
  type KeyMatcher,
  type Phase,
  type ProgramEntry,
  type Rule,
  type Target,
} from './rule.js';
import { applySetting, defaultSettings, type EngineSettings } from './settings.js';
import { KNOWN_VARIABLES } from './variables.js';

export interface RuleSet {
  readonly settings: EngineSettings;
  /** Index 1..5: the rules and markers of each phase in order. Index 0 is unused. */
  readonly programs: readonly (readonly ProgramEntry[])[];
  /** For each phase, where each skipAfter-carrying rule jumps to (the entry index after the marker). */
  readonly jumps: readonly Map<Rule, number>[];
  readonly ruleCount: number;
  /** Per variable, the cached target lists and views that read it (set once the programs are final). */
  dependents: ReadonlyMap<string, Dependents>;
  /** How many target lists, views and union slots the rules use: a transaction sizes its caches once. */
  slots: {
    readonly targets: number;
    readonly views: number;
    readonly unions: number;
    readonly units: number;
    readonly unitTargets: number;
  };
  /**
   * Per short value, its transformed forms and prefilter answers by chain id, kept across requests. Pure functions of
   * the value, so sharing them is safe; bounded (see ValueMemo).
   */
  readonly derivedMemo: ValueMemo<Derived[]>;
  /** The same for values up to LONG_MEMO_CHARS (a page served again and again), with few entries. */
  readonly longDerivedMemo: ValueMemo<Derived[]>;
  readonly constants: ConstantValues;
  /** Per unit slot (Rule.unitIds), the last union of prefilter answers and what it was made of: see UnionMemo. */
  unitUnions: UnionMemo;
  /** Accepted but worth saying at start, e.g. an operator Bulwark does not implement yet. */
  readonly warnings: readonly string[];
  /**
   * Per tag, the idIndex of the rules that carry it: a `ctl:ruleRemoveTargetByTag` (CRS runs one on every request)
   * then marks the few rules it touches instead of every rule checking its tags.
   */
  readonly idsByTag: ReadonlyMap<string, readonly number[]>;
  /** How many distinct rule ids (Rule.idIndex runs from 0 to this). */
  readonly idCount: number;
}

export type CompileResult = { ok: true; ruleSet: RuleSet } | { ok: false; problems: SecLangProblem[] };

export function compileRuleSet(directives: readonly Directive[], base?: Partial<EngineSettings>): CompileResult {
  const problems: SecLangProblem[] = [];
  const settings = { ...defaultSettings(), ...base };
  const defaults = new Map<number, ActionFields>();
  const rules: Rule[] = [];
  const entries: (Rule | { marker: string })[] = [];
  const ids = new Map<number, Rule>();
  const warnings: string[] = [];
  let openChain: Rule | undefined;

  for (const d of directives) {
    const problem = (directive: string, message: string): void => {
      problems.push({ file: d.source.file, line: d.source.line, directive, message });
    };
    switch (d.kind) {
      case 'setting': {
        const err = applySetting(settings, d.name, d.args);
        if (err) problem(d.name, err);
        break;
      }
      case 'default-action': {
        const fields = emptyFields();
        const errs: string[] = [];
        applyActions(fields, d.actions, errs);
        errs.forEach((e) => problem('SecDefaultAction', e));
        if (fields.phase === undefined) problem('SecDefaultAction', 'needs a phase');
        else defaults.set(fields.phase, fields);
        break;
      }
      case 'marker':
        if (openChain) problem('SecMarker', 'a chain is still open: the rule before has "chain" but no rule follows');
        openChain = undefined;
        entries.push({ marker: d.name });
        break;
      case 'rule':
      case 'action': {
        const name = d.kind === 'rule' ? 'SecRule' : 'SecAction';
        const rule = buildRule(d, openChain, defaults, (m) => problem(name, m), warnings);
        if (!rule) break;
        if (openChain) {
          let tail = openChain;
          while (tail.chain) tail = tail.chain;
          tail.chain = rule.rule;
        } else {
          if (ids.has(rule.rule.id)) {
            const first = ids.get(rule.rule.id)!.source;
            problem(name, `duplicate id ${rule.rule.id} (first at ${first.file}:${first.line})`);
            break;
          }
          ids.set(rule.rule.id, rule.rule);
          rules.push(rule.rule);
          entries.push(rule.rule);
        }
        openChain = rule.continues ? (openChain ?? rule.rule) : undefined;
        break;
      }
      case 'remove': {
        const keep = selectRules(d.by, d.args, rules, (m) => problem(`SecRuleRemoveBy${cap(d.by)}`, m), true);
        removeWhere(entries, rules, ids, keep);
        break;
      }
      case 'update-target': {
        const selected = selectRules(d.by, [d.selector], rules, (m) => problem(`SecRuleUpdateTargetBy${cap(d.by)}`, m));
        for (const r of rules.filter((x) => selected(x))) updateTargets(r, d.variables);
        break;
      }
      case 'update-action': {
        const target = ids.get(Number(d.id));
        if (!target) {
          problem('SecRuleUpdateActionById', `no rule with id ${d.id} is defined before this line`);
          break;
        }
        const errs: string[] = [];
        const fields = emptyFields();
        applyActions(fields, d.actions, errs);
        errs.forEach((e) => problem('SecRuleUpdateActionById', e));
        mergeUpdate(target, fields);
        break;
      }
    }
  }
  if (openChain) {
    const s = openChain.source;
    problems.push({
      file: s.file,
      line: s.line,
      directive: 'SecRule',
      message: 'ends with "chain" but no rule follows',
    });
  }
  const ruleSet = layout(entries, settings, rules.length, problems, warnings);
  if (problems.length) return { ok: false, problems };
  const attached = attachPrefilters(ruleSet.programs);
  ruleSet.dependents = attached.dependents;
  ruleSet.slots = attached.slots;
  ruleSet.unitUnions = new UnionMemo(attached.slots.units);
  return { ok: true, ruleSet };
}

function buildRule(
  d: Extract<Directive, { kind: 'rule' | 'action' }>,
  head: Rule | undefined,
  defaults: Map<number, ActionFields>,
  problem: (m: string) => void,
  warnings: string[],
): { rule: Rule; continues: boolean } | undefined {
  const own = emptyFields();
  const errs: string[] = [];
  applyActions(own, d.actions, errs);
  const phase = (head?.phase ?? own.phase ?? 2) as Phase;
  if (!head && own.id === undefined) errs.push('needs an id');
  if (head && own.id !== undefined) errs.push(`a chained rule cannot have its own id (${own.id})`);
  if (head && own.phase !== undefined && own.phase !== head.phase) errs.push('a chained rule cannot change phase');
  const def = defaults.get(phase);
  const transforms = d.actions.some((a) => a.name === 't' && a.value?.toLowerCase() === 'none')
    ? own.transforms
    : [...(def?.transforms ?? []), ...own.transforms];
  const targets: Target[] = [];
  const exclusions: Exclusion[] = [];
  if (d.kind === 'rule') {
    for (const v of d.variables) {
      if (!KNOWN_VARIABLES.has(v.name)) {
        errs.push(`unknown variable "${v.name}"`);
        continue;
      }
      try {
        if (v.exclude) exclusions.push({ variable: v.name, ...keyMatcher(v) });
        else targets.push(target(v.name, v.count, keyMatcher(v)));
      } catch (err) {
        errs.push(`${v.name}:/${v.key}/: ${(err as Error).message}`);
      }
    }
  }
  const op = d.kind === 'rule' ? d.operator : { name: 'unconditionalmatch', negated: false, argument: '' };
  const compiled = compileOperator(op.name, op.negated, op.argument, dirname(d.source.file));
  if (!compiled.ok) errs.push(compiled.error);
  else if (compiled.warning) warnings.push(`${d.source.file}:${d.source.line}: ${compiled.warning}`);
  if (errs.length || !compiled.ok) {
    errs.forEach(problem);
    return undefined;
  }
  const disruptive = head ? 'pass' : (own.disruptive ?? def?.disruptive ?? 'pass');
  const rule: Rule = {
    id: head?.id ?? own.id!,
    phase,
    source: d.source,
    isChainLink: head !== undefined,
    targets: d.kind === 'action' ? [target('UNCONDITIONAL', false, { key: undefined, regex: undefined })] : targets,
    exclusions,
    operator: compiled.operator,
    transforms: transforms.map((t) => t.fn),
    transformKey: transforms.map((t) => t.name).join(','),
    multiMatch: own.multiMatch ?? false,
    capture: own.capture ?? false,
    chainId: 0,
    // Every field present from the start, those set later included: all rules share one shape, so the loads on
    // the per-rule path stay monomorphic.
    prefilter: undefined,
    chain: undefined,
    prefilterIndex: -1,
    targetsId: -1,
    viewId: -1,
    unionId: -1,
    unitIds: [],
    unitTargetIds: [],
    fastReject: false,
    opSlot: -1,
    txKey: undefined,
    txCount: false,
    idIndex: -1,
    setvars: own.setvars,
    ctls: own.ctls,
    msg: own.msg,
    logdata: own.logdata,
    severity: own.severity,
    tags: own.tags,
    ver: own.ver,
    log: own.log ?? def?.log ?? true,
    auditlog: own.auditlog ?? def?.auditlog ?? true,
    disruptive: disruptive === 'block' ? (def?.disruptive ?? 'pass') : disruptive,
    allowScope: own.allowScope ?? 'all',
    status: own.status ?? def?.status,
    redirect: own.redirect ?? def?.redirect,
    skip: own.skip ?? 0,
    skipAfter: own.skipAfter,
  };
  rule.txKey = plainTxKey(rule);
  rule.txCount = rule.txKey !== undefined && rule.targets[0]!.count;
  if (disruptive === 'block' && rule.disruptive === 'block') rule.disruptive = 'pass';
  return { rule, continues: own.chain === true };
}

/** See Rule.txKey. */
function plainTxKey(rule: Rule): string | undefined {
  if (rule.targets.length !== 1 || rule.exclusions.length > 0 || rule.transforms.length > 0 || rule.multiMatch) {
    return undefined;
  }
  const t = rule.targets[0]!;
  return t.variable === 'TX' && t.regex === undefined ? t.key : undefined;
}

/** The names as written in the source (internalized strings): compares and lookups by name then go by pointer. */
const CANONICAL_NAMES = new Map([...KNOWN_VARIABLES].map((name) => [name, name]));

function target(variable: string, count: boolean, key: KeyMatcher): Target {
  const name = CANONICAL_NAMES.get(variable) ?? variable;
  return { variable: name, count, key: key.key, regex: key.regex, collection: COLLECTIONS.has(name) };
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

/** A predicate over rules for SecRuleRemove*, SecRuleUpdateTarget*. */
function selectRules(
  by: 'id' | 'tag' | 'msg',
  args: readonly string[],
  rules: readonly Rule[],
  problem: (m: string) => void,
  warnIfNone = false,
): (r: Rule) => boolean {
  if (by === 'id') {
    const ranges = parseIdRanges(args.join(' '));
    if (typeof ranges === 'string') {
      problem(ranges);
      return () => false;
    }
    const pred = (r: Rule): boolean => ranges.some(([lo, hi]) => r.id >= lo && r.id <= hi);
    if (!warnIfNone && !rules.some(pred)) problem(`no rule with id ${args.join(' ')} is defined before this line`);
    return pred;
  }
  if (by === 'tag') return (r) => args.some((t) => r.tags.includes(t));
  return (r) => args.some((m) => typeof r.msg === 'string' && r.msg === m);
}

function removeWhere(
  entries: (Rule | { marker: string })[],
  rules: Rule[],
  ids: Map<number, Rule>,
  pred: (r: Rule) => boolean,
): void {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (!isMarker(e) && pred(e)) entries.splice(i, 1);
  }
  for (let i = rules.length - 1; i >= 0; i--) {
    if (pred(rules[i]!)) {
      ids.delete(rules[i]!.id);
      rules.splice(i, 1);
    }
  }
}

function updateTargets(rule: Rule, variables: readonly VariableSpec[]): void {
  for (const v of variables) {
    if (v.exclude) rule.exclusions.push({ variable: v.name, ...keyMatcher(v) });
    else rule.targets.push(target(v.name, v.count, keyMatcher(v)));
  }
}

function mergeUpdate(rule: Rule, f: ActionFields): void {
  if (f.disruptive) rule.disruptive = f.disruptive === 'block' ? rule.disruptive : f.disruptive;
  if (f.log !== undefined) rule.log = f.log;
  if (f.auditlog !== undefined) rule.auditlog = f.auditlog;
  if (f.msg !== undefined) rule.msg = f.msg;
  if (f.logdata !== undefined) rule.logdata = f.logdata;
  if (f.severity !== undefined) rule.severity = f.severity;
  if (f.status !== undefined) rule.status = f.status;
  if (f.tags.length) rule.tags = [...rule.tags, ...f.tags];
  if (f.setvars.length) rule.setvars = [...rule.setvars, ...f.setvars];
  if (f.transforms.length) {
    rule.transforms = f.transforms.map((t) => t.fn);
    rule.transformKey = f.transforms.map((t) => t.name).join(',');
  }
}

function layout(
  entries: readonly (Rule | { marker: string })[],
  settings: EngineSettings,
  ruleCount: number,
  problems: SecLangProblem[],
  warnings: readonly string[],
): RuleSet {
  const programs: ProgramEntry[][] = [[], [], [], [], [], []];
  for (const e of entries) {
    if (isMarker(e)) for (let p = 1; p <= 5; p++) programs[p]!.push(e);
    else programs[e.phase]!.push(e);
  }
  const jumps: Map<Rule, number>[] = programs.map(() => new Map());
  for (let p = 1; p <= 5; p++) {
    const program = programs[p]!;
    program.forEach((e, i) => {
      if (isMarker(e) || e.skipAfter === undefined) return;
      const target = e.skipAfter;
      for (let j = i + 1; j < program.length; j++) {
        const t = program[j]!;
        if (isMarker(t) ? t.marker === target : String(t.id) === target) {
          jumps[p]!.set(e, j + 1);
          return;
        }
      }
      // ModSecurity skips to the end of the phase when the marker is missing; say so but keep going.
      problems.push({
        file: e.source.file,
        line: e.source.line,
        directive: 'SecRule',
        message: `skipAfter:${target}: no marker or rule of that name follows in phase ${p}`,
      });
      jumps[p]!.set(e, program.length);
    });
  }
  // Rule ids numbered densely: a transaction keeps per-id state (targets removed at run time) in arrays.
  const idIndexes = new Map<number, number>();
  for (const e of entries) {
    if (isMarker(e)) continue;
    let index = idIndexes.get(e.id);
    if (index === undefined) idIndexes.set(e.id, (index = idIndexes.size));
    for (let link: Rule | undefined = e; link; link = link.chain) link.idIndex = index;
  }
  const idsByTag = new Map<string, number[]>();
  for (const e of entries) {
    if (isMarker(e)) continue;
    for (const tag of e.tags) {
      const ids = idsByTag.get(tag);
      if (!ids) idsByTag.set(tag, [e.idIndex]);
      else if (ids[ids.length - 1] !== e.idIndex) ids.push(e.idIndex);
    }
  }
  return {
    settings,
    programs,
    jumps,
    ruleCount,
    warnings,
    dependents: new Map(),
    slots: { targets: 0, views: 0, unions: 0, units: 0, unitTargets: 0 },
    derivedMemo: new ValueMemo(4096),
    longDerivedMemo: new ValueMemo(64, LONG_MEMO_CHARS),
    constants: new ConstantValues(),
    unitUnions: new UnionMemo(0),
    idsByTag,
    idCount: idIndexes.size,
  };
}
