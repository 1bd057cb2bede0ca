/** Which variables exist, and how a rule's targets turn into the (name, value) pairs its operator sees. */
import type { Entry, ReadableCollection } from './collections.js';
import type { Exclusion, KeyMatcher, Rule, Target } from './rule.js';
import type { PatternBits } from './prefilter.js';
import type { OperatorMatch } from './operators.js';

export interface VarValue {
  /** `ARGS:id`, `REQUEST_HEADERS:User-Agent`, `REQUEST_FILENAME`: what MATCHED_VAR_NAME shows. */
  readonly name: string;
  readonly value: string;
  /**
   * Per transformation chain (by chain id): the transformed value and the prefilter's answer for it. A value object
   * is shared by every rule that reads the same entry in a transaction, so each chain runs once per value.
   */
  derived?: Derived[];
  /** Per chain id, the view of a rule whose one target gave this value alone (see Transaction.viewFor). */
  solo?: ValueView[];
}

export interface Derived {
  readonly transformed: string;
  hits?: PatternBits | null;
  /** For multiMatch rules: the value and each different form along the chain (see transformedAll). */
  all?: readonly string[];
  /** Answers of pure operators on the transformed value, by the rule's opSlot (null: no match). */
  ops?: (OperatorMatch | null | undefined)[];
}

/**
 * The values a rule reads, and what the transaction worked out about them once for every rule that reads the same
 * variables through the same transformation chain: the prefilter's answers (transformed forms hang off each value).
 */
export interface ValueView {
  readonly values: readonly VarValue[];
  /** Per value, the indexes of the prefilter Set's patterns that matched it; null where the Set gave up. */
  hits?: readonly (PatternBits | null)[];
  /** Whether any value has a prefilter answer other than "no pattern matches". */
  anyHits?: boolean;
  /** When `anyHits`: every index in `hits`, or null when some value needs its patterns run one by one. */
  union?: PatternBits | null;
}

/*
 * Value, derived-form and view objects are made with every field present, unset ones undefined: V8 then gives all
 * of them one hidden class from the start, instead of growing a property store when a field is first set and
 * leaving the code that reads them several shapes to tell apart.
 */
export function varValue(name: string, value: string): VarValue {
  return { name, value, derived: undefined, solo: undefined };
}

export function derivedForm(transformed: string): Derived {
  return { transformed, hits: undefined, all: undefined, ops: undefined };
}

export function valueView(values: readonly VarValue[]): ValueView {
  return { values, hits: undefined, anyHits: undefined, union: undefined };
}

/** What the resolver asks of a transaction. */
export interface VariableSource {
  collection(name: string): ReadableCollection | undefined;
  scalar(name: string): string | undefined;
  /** Exclusions added at run time by ctl:ruleRemoveTarget* for this rule. */
  runtimeExclusions(rule: Rule): readonly Exclusion[] | undefined;
  /** The shared value object of a scalar variable (undefined value: the variable is absent). */
  scalarValue(name: string): VarValue | undefined;
  readonly constants: ConstantValues;
}

export const COLLECTIONS = new Set([
  'ARGS',
  'ARGS_GET',
  'ARGS_POST',
  'ARGS_NAMES',
  'ARGS_GET_NAMES',
  'ARGS_POST_NAMES',
  'REQUEST_HEADERS',
  'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES',
  'REQUEST_COOKIES_NAMES',
  'RESPONSE_HEADERS',
  'RESPONSE_HEADERS_NAMES',
  'TX',
  'IP',
  'GLOBAL',
  'SESSION',
  'USER',
  'RESOURCE',
  'ENV',
  'FILES',
  'FILES_NAMES',
  'FILES_SIZES',
  'FILES_TMPNAMES',
  'FILES_TMP_CONTENT',
  'MULTIPART_PART_HEADERS',
  'XML',
  'MATCHED_VARS',
  'MATCHED_VARS_NAMES',
  'RULE',
  'GEO',
]);

export const SCALARS = new Set([
  'ARGS_COMBINED_SIZE',
  'AUTH_TYPE',
  'DURATION',
  'FILES_COMBINED_SIZE',
  'FULL_REQUEST',
  'FULL_REQUEST_LENGTH',
  'HIGHEST_SEVERITY',
  'INBOUND_DATA_ERROR',
  'MATCHED_VAR',
  'MATCHED_VAR_NAME',
  'MULTIPART_BOUNDARY_QUOTED',
  'MULTIPART_BOUNDARY_WHITESPACE',
  'MULTIPART_CRLF_LF_LINES',
  'MULTIPART_DATA_AFTER',
  'MULTIPART_DATA_BEFORE',
  'MULTIPART_FILE_LIMIT_EXCEEDED',
  'MULTIPART_FILENAME',
  'MULTIPART_HEADER_FOLDING',
  'MULTIPART_INVALID_HEADER_FOLDING',
  'MULTIPART_INVALID_PART',
  'MULTIPART_INVALID_QUOTING',
  'MULTIPART_LF_LINE',
  'MULTIPART_MISSING_SEMICOLON',
  'MULTIPART_NAME',
  'MULTIPART_STRICT_ERROR',
  'MULTIPART_UNMATCHED_BOUNDARY',
  'OUTBOUND_DATA_ERROR',
  'PATH_INFO',
  'QUERY_STRING',
  'REMOTE_ADDR',
  'REMOTE_HOST',
  'REMOTE_PORT',
  'REMOTE_USER',
  'REQBODY_ERROR',
  'REQBODY_ERROR_MSG',
  'REQBODY_PROCESSOR',
  'REQBODY_PROCESSOR_ERROR',
  'REQBODY_PROCESSOR_ERROR_MSG',
  'REQUEST_BASENAME',
  'REQUEST_BODY',
  'REQUEST_BODY_LENGTH',
  'REQUEST_FILENAME',
  'REQUEST_LINE',
  'REQUEST_METHOD',
  'REQUEST_PROTOCOL',
  'REQUEST_URI',
  'REQUEST_URI_RAW',
  'RESPONSE_BODY',
  'RESPONSE_CONTENT_LENGTH',
  'RESPONSE_CONTENT_TYPE',
  'RESPONSE_PROTOCOL',
  'RESPONSE_STATUS',
  'SERVER_ADDR',
  'SERVER_NAME',
  'SERVER_PORT',
  'STATUS_LINE',
  'TIME',
  'TIME_DAY',
  'TIME_EPOCH',
  'TIME_HOUR',
  'TIME_MIN',
  'TIME_MON',
  'TIME_SEC',
  'TIME_WDAY',
  'TIME_YEAR',
  'UNIQUE_ID',
  'URLENCODED_ERROR',
  'USERID',
  'WEBAPPID',
]);

export const KNOWN_VARIABLES = new Set([...COLLECTIONS, ...SCALARS]);

function keyMatches(m: KeyMatcher, e: Entry): boolean {
  if (m.key !== undefined) return m.key === e.lkey;
  if (m.regex) return m.regex.test(e.key);
  return true;
}

function excludedBy(variable: string, e: Entry, list: readonly Exclusion[] | undefined): boolean {
  if (list) for (const x of list) if (x.variable === variable && keyMatches(x, e)) return true;
  return false;
}

function namesScalar(variable: string, list: readonly Exclusion[] | undefined): boolean {
  if (list) for (const x of list) if (x.variable === variable) return true;
  return false;
}

const NO_ENTRIES: readonly Entry[] = [];

/**
 * Value objects that do not depend on the request, made once per rule set: `&TARGET` answers (a request reads
 * some thirty, nearly all 0 or 1) and UNCONDITIONAL. Per rule set, not per process, because the derived forms and
 * prefilter answers that hang off a value object are indexed by the rule set's chain and pattern numbers.
 */
export class ConstantValues {
  private readonly counts = new Map<string, VarValue[]>();
  readonly unconditional: VarValue = varValue('', '');

  count(name: string, n: number): VarValue {
    if (n > 63) return varValue(name, String(n));
    let byCount = this.counts.get(name);
    if (byCount === undefined) this.counts.set(name, (byCount = []));
    return (byCount[n] ??= varValue(name, String(n)));
  }
}

/** Returned by `singleValue` for a target that names a whole collection (or a key selector): walk it instead. */
export const WALK = Symbol('walk');

/**
 * The value of a target that yields at most one (a TX key, a scalar, a count), or WALK. Rules on such targets run
 * on every request and read state that changes as rules run; answering them without a list saves the allocations.
 */
export function singleValue(
  src: VariableSource,
  target: Target,
  exclusions: readonly Exclusion[],
  runtime: readonly Exclusion[] | undefined,
): VarValue | undefined | typeof WALK {
  const v = target.variable;
  if (target.collection) {
    if (target.key === undefined) return WALK;
    const col = src.collection(v);
    if (!col?.entry) return WALK;
    // One value per key (TX): a direct lookup, not a walk over every variable CRS has set.
    const e = col.entry(target.key);
    const keep = e !== undefined && !excludedBy(v, e, exclusions) && !excludedBy(v, e, runtime);
    if (target.count) return src.constants.count(v, keep ? 1 : 0);
    // CRS reads TX:detection_paranoia_level some 90 times a request: one VarValue serves them all.
    return keep ? seenValue(v, e) : undefined;
  }
  if (v === 'UNCONDITIONAL') return src.constants.unconditional;
  // A scalar is excluded whole (`!REQUEST_FILENAME`, `ctl:ruleRemoveTargetByTag=...;REQUEST_FILENAME`).
  const value = namesScalar(v, exclusions) || namesScalar(v, runtime) ? undefined : src.scalarValue(v);
  return target.count ? src.constants.count(v, value === undefined ? 0 : 1) : value;
}

/**
 * What rules see of one entry of a collection, made once per entry and value and shared by every rule that reads
 * it; an entry whose value changes (TX) drops it.
 */
export function seenValue(variable: string, e: Entry): VarValue {
  return (e.seen ??= varValue(`${variable}:${e.key}`, e.value));
}

/** Appends the values of one target to `out`. */
export function resolveTarget(
  src: VariableSource,
  target: Target,
  exclusions: readonly Exclusion[],
  runtime: readonly Exclusion[] | undefined,
  out: VarValue[],
): void {
  const one = singleValue(src, target, exclusions, runtime);
  if (one !== WALK) {
    if (one !== undefined) out.push(one);
    return;
  }
  const v = target.variable;
  const col = src.collection(v);
  const entries = col ? col.entries() : NO_ENTRIES;
  let count = 0;
  const excluding = exclusions.length > 0 || runtime !== undefined;
  for (const e of entries) {
    if (!keyMatches(target, e)) continue;
    if (excluding && (excludedBy(v, e, exclusions) || excludedBy(v, e, runtime))) continue;
    if (target.count) count++;
    else out.push(seenValue(v, e));
  }
  if (target.count) out.push(src.constants.count(v, count));
}
