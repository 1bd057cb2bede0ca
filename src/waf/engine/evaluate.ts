/**
 * One phase of one transaction: walk the phase's program, evaluate each rule (and its chain), run its actions,
 * follow skip and skipAfter, stop at the first disruptive action that takes effect.
 */
import { expand } from './macros.js';
import type { OperatorContext, OperatorMatch } from './operators.js';
import { isMarker, SEVERITY_NAMES, type Ctl, type Phase, type Rule } from './rule.js';
import type { RuleSet } from './compile.js';
import { varValue, WALK, type ValueView, type VarValue, type VariableSource } from './variables.js';

export interface MatchRecord {
  readonly id: number;
  readonly phase: Phase;
  readonly msg: string;
  readonly data: string;
  readonly severity?: string;
  readonly severityLevel?: number;
  readonly tags: readonly string[];
  /** MATCHED_VAR_NAME when the rule matched, e.g. `ARGS:id`. */
  readonly variable: string;
  readonly value: string;
  readonly disruptive: string;
}

export interface Interruption {
  readonly ruleId: number;
  readonly action: 'deny' | 'drop' | 'redirect';
  readonly status: number;
  readonly location?: string;
}

/** What the evaluator needs from a transaction: data, state, and effects of actions. */
export interface EvalContext extends OperatorContext, VariableSource {
  readonly ruleSet: RuleSet;
  isRemoved(rule: Rule): boolean;
  /**
   * The one value of a rule with a txKey (its count with txCount): undefined when TX has no such key, WALK when a
   * ctl removed targets from the rule (the general path then applies them).
   */
  txValue(rule: Rule): VarValue | undefined | typeof WALK;
  /** The (name, value) pairs the rule's targets name now, shared with rules that read the same variables. */
  viewFor(rule: Rule): ValueView;
  /** Value i of the view through the rule's transformation chain, computed once per (value, chain). */
  transformedAt(rule: Rule, view: ValueView, i: number): string;
  /** False when the prefilter rules out a match of the rule's pattern on this value. */
  mayMatch(rule: Rule, value: string): boolean;
  /**
   * False when the rule's prefilter Set finds its pattern in none of its targets' transformed values: answered
   * from what an earlier rule with the same targets and chain found, without resolving the values again.
   */
  mayMatchAnyTarget(rule: Rule): boolean;
  /** False when the per-target superset answers rule out the rule's pattern (see Rule.fastReject). */
  unitsMayMatch(rule: Rule): boolean;
  /** False when the prefilter Set rules out a match on value i of the view. */
  mayMatchAt(rule: Rule, view: ValueView, i: number): boolean;
  operatorRun(rule: Rule, value: string): OperatorMatch | null;
  /** The operator on value i of the view (`value`: its transformed form), kept with the value when pure. */
  operatorRunAt(rule: Rule, view: ValueView, i: number, value: string): OperatorMatch | null;
  /** The value and each different form along the rule's chain, once per (value, chain) like transformedView. */
  transformedAll(rule: Rule, v: VarValue): readonly string[];
  setCaptures(groups: readonly (string | undefined)[]): void;
  recordMatch(v: VarValue, first: boolean): void;
  matchedVarSnapshot(): VarValue | undefined;
  runSetVars(rule: Rule): void;
  runCtl(ctl: Ctl): void;
  log(record: MatchRecord): void;
  readonly blocking: boolean;
  /** Set by `allow`: the phases left to skip. */
  allow(scope: Rule['allowScope'], phase: Phase): void;
  currentRule: Rule | undefined;
}

export type PhaseOutcome = { kind: 'done' } | { kind: 'interrupted'; interruption: Interruption } | { kind: 'allowed' };

export function runPhase(ctx: EvalContext, phase: Phase): PhaseOutcome {
  const program = ctx.ruleSet.programs[phase]!;
  const jumps = ctx.ruleSet.jumps[phase]!;
  for (let i = 0; i < program.length; i++) {
    const entry = program[i]!;
    // Most rules on most requests stop here (see Rule.fastReject); markers have no such field.
    if ((entry as Rule).fastReject === true && !ctx.unitsMayMatch(entry as Rule)) continue;
    if (isMarker(entry) || ctx.isRemoved(entry)) continue;
    ctx.currentRule = entry;
    if (!evaluateChain(ctx, entry)) continue;
    for (let link: Rule | undefined = entry; link; link = link.chain) for (const c of link.ctls) ctx.runCtl(c);
    if (entry.log) ctx.log(record(ctx, entry, phase));
    switch (entry.disruptive) {
      case 'deny':
      case 'drop':
      case 'redirect':
        if (ctx.blocking) {
          return {
            kind: 'interrupted',
            interruption: {
              ruleId: entry.id,
              action: entry.disruptive,
              status: entry.disruptive === 'redirect' ? (entry.status ?? 302) : (entry.status ?? 403),
              location: entry.redirect === undefined ? undefined : expand(entry.redirect, ctx),
            },
          };
        }
        break;
      case 'allow':
        if (ctx.blocking) {
          ctx.allow(entry.allowScope, phase);
          return { kind: 'allowed' };
        }
        break;
      default:
        break;
    }
    const jump = entry.skipAfter !== undefined ? jumps.get(entry) : undefined;
    if (jump !== undefined) i = jump - 1;
    else if (entry.skip > 0) i += skipRules(program, i, entry.skip);
  }
  ctx.currentRule = undefined;
  return { kind: 'done' };
}

/** `skip:N` counts rules, not markers. */
function skipRules(program: RuleSet['programs'][number], from: number, count: number): number {
  let skipped = 0;
  let i = from + 1;
  for (; i < program.length && skipped < count; i++) if (!isMarker(program[i]!)) skipped++;
  return i - from - 1;
}

function evaluateChain(ctx: EvalContext, head: Rule): boolean {
  for (let link: Rule | undefined = head; link; link = link.chain) {
    if (!evaluateRule(ctx, link)) return false;
  }
  return true;
}

export function evaluateRule(ctx: EvalContext, rule: Rule): boolean {
  if (rule.txKey !== undefined) {
    const v = ctx.txValue(rule);
    if (v === undefined) return false;
    if (v !== WALK) return tryValue(ctx, rule, v, v.value, rule.operator.run(ctx, v.value, rule.capture), false);
  }
  const op = rule.operator;
  // A negated rule matches when its pattern does not: the prefilter would spare its run only on the rare value the
  // pattern misses, and a Set scan of a value no other rule reads (REQUEST_LINE for 920100) costs ~10x the run.
  const filtered = rule.prefilter !== undefined && !op.negated;
  // Most rules on most requests stop here: the prefilter found their pattern in none of the values.
  if (filtered && !rule.multiMatch && !ctx.mayMatchAnyTarget(rule)) return false;
  const view = ctx.viewFor(rule);
  const values = view.values;
  if (values.length === 0) return false;
  if (rule.multiMatch) {
    let matched = false;
    for (const v of values) {
      for (const value of ctx.transformedAll(rule, v)) {
        const m = filtered && !ctx.mayMatch(rule, value) ? null : ctx.operatorRun(rule, value);
        if (tryValue(ctx, rule, v, value, m, matched)) {
          matched = true;
          break;
        }
      }
    }
    return matched;
  }
  let matched = false;
  for (let i = 0; i < values.length; i++) {
    const value = ctx.transformedAt(rule, view, i);
    const m = filtered && !ctx.mayMatchAt(rule, view, i) ? null : ctx.operatorRunAt(rule, view, i, value);
    if (tryValue(ctx, rule, values[i]!, value, m, matched)) matched = true;
  }
  return matched;
}

function tryValue(
  ctx: EvalContext,
  rule: Rule,
  v: VarValue,
  value: string,
  m: OperatorMatch | null,
  matchedBefore: boolean,
): boolean {
  const op = rule.operator;
  const hit = op.negated ? m === null : m !== null;
  if (!hit) return false;
  if (rule.capture && m && !op.negated) ctx.setCaptures(m);
  ctx.recordMatch(value === v.value ? v : varValue(v.name, value), !matchedBefore);
  ctx.runSetVars(rule);
  return true;
}

function record(ctx: EvalContext, rule: Rule, phase: Phase): MatchRecord {
  const mv = ctx.matchedVarSnapshot();
  let logdata: string | undefined;
  for (let link: Rule | undefined = rule; link; link = link.chain) {
    if (link.logdata !== undefined) logdata = expand(link.logdata, ctx);
  }
  return {
    id: rule.id,
    phase,
    msg: rule.msg === undefined ? '' : expand(rule.msg, ctx),
    data: logdata ?? '',
    severity: rule.severity === undefined ? undefined : SEVERITY_NAMES[rule.severity],
    severityLevel: rule.severity,
    tags: rule.tags,
    variable: mv?.name ?? '',
    value: mv?.value ?? '',
    disruptive: rule.disruptive,
  };
}
