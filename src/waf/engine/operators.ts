/**
 * Operators compiled at load: patterns, automata, CIDR sets and byte tables are built once here. An operator gets a
 * byte string and answers with the matched data (group 0 and captures) or null.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { IpSet, parseCidr } from '../../lib/ip.js';
import { detectSqli } from '../detect/sqli/index.js';
import { detectXss } from '../detect/xss/index.js';
import { PhraseMatcher } from './aho-corasick.js';
import { LONG_MEMO_CHARS, ValueMemo } from './memo.js';
import { compileTemplate, expand, type MacroSource, type Template } from './macros.js';
import { compileRegex, type CompiledRegex } from './regex.js';

export interface OperatorContext extends MacroSource {
  /** The value as RE2 wants it, cached per transaction. */
  subject(value: string): Buffer;
}

/** Group 0 (the matched data) and any captures. */
export type OperatorMatch = readonly (string | undefined)[];

export interface CompiledOperator {
  readonly name: string;
  readonly negated: boolean;
  readonly argument: string;
  /** Set for `@rx`: the prefilter groups rules by it. */
  readonly regex?: CompiledRegex;
  /**
   * The answer depends on the value alone (a static pattern, phrase list or detector): the transaction may keep it
   * with the value's derived forms instead of running the operator again for a value seen before.
   */
  readonly pure: boolean;
  run(ctx: OperatorContext, value: string, capture: boolean): OperatorMatch | null;
}

export type OperatorResult = { ok: true; operator: CompiledOperator; warning?: string } | { ok: false; error: string };

type Run = CompiledOperator['run'];

/** The detectors are pure functions of the value: one memo each, shared by every rule set and request. */
const sqliMemo = new ValueMemo<string | null>();
const xssMemo = new ValueMemo<boolean>();

export function compileOperator(name: string, negated: boolean, argument: string, baseDir: string): OperatorResult {
  const make = (run: Run, regex?: CompiledRegex, pure = false): OperatorResult => ({
    ok: true,
    operator: { name, negated, argument, run, regex, pure },
  });
  const arg = compileTemplate(argument);
  switch (name) {
    case 'rx': {
      if (typeof arg !== 'string') return make(dynamicRegex(arg));
      // `^.*$` under DOTALL matches every value whole; CRS uses it only to capture a header name (920450, 920451).
      // RE2's exec with a capture cost ~5 µs a header, for an answer known at load.
      if (argument === '^.*$') return make((_ctx, value) => [value]);
      const compiled = compileRegex(argument);
      if (!compiled.ok) return { ok: false, error: `@rx: ${compiled.error}` };
      const re = compiled.regex;
      return make(
        (ctx, value, capture) => {
          const subject = ctx.subject(value);
          if (!capture) return re.test(subject) ? [value] : null;
          return re.exec(subject);
        },
        re,
        true,
      );
    }
    case 'pm':
    case 'pmf':
    case 'pmfromfile': {
      const phrases = name === 'pm' ? argument.split(/\s+/).filter(Boolean) : readPhraseFiles(argument, baseDir);
      if (typeof phrases === 'string') return { ok: false, error: `@${name}: ${phrases}` };
      const matcher = new PhraseMatcher(phrases);
      // A pure function of the value, like the detectors: the same headers and cookies come again on every request.
      const memo = new ValueMemo<string | null>(1024);
      const longMemo = new ValueMemo<string | null>(16, LONG_MEMO_CHARS);
      const find = (value: string) => matcher.find(value) ?? null;
      return make(
        (_ctx, value) => {
          const found = (value.length <= 512 ? memo : longMemo).get(value, find);
          return found === null ? null : [found];
        },
        undefined,
        true,
      );
    }
    case 'streq':
      return make(stringOp(arg, (v, a) => v === a));
    case 'contains':
    case 'strmatch':
      return make(stringOp(arg, (v, a) => v.includes(a), true));
    case 'containsword':
      return make(stringOp(arg, containsWord, true));
    case 'beginswith':
      return make(stringOp(arg, (v, a) => v.startsWith(a), true));
    case 'endswith':
      return make(stringOp(arg, (v, a) => v.endsWith(a), true));
    case 'within':
      // ModSecurity: the rule's value is looked for inside the operator's argument, not the other way round.
      return make(stringOp(arg, (v, a) => v.length > 0 && a.includes(v)));
    case 'eq':
      return make(numericOp(arg, (v, a) => v === a));
    case 'ge':
      return make(numericOp(arg, (v, a) => v >= a));
    case 'gt':
      return make(numericOp(arg, (v, a) => v > a));
    case 'le':
      return make(numericOp(arg, (v, a) => v <= a));
    case 'lt':
      return make(numericOp(arg, (v, a) => v < a));
    case 'ipmatch':
    case 'ipmatchf':
    case 'ipmatchfromfile': {
      const entries =
        name === 'ipmatch' ? argument.split(/[,\s]+/).filter(Boolean) : readPhraseFiles(argument, baseDir);
      if (typeof entries === 'string') return { ok: false, error: `@${name}: ${entries}` };
      const set = new IpSet();
      for (const entry of entries) {
        const cidr = parseCidr(entry);
        if (typeof cidr === 'string') return { ok: false, error: `@${name}: ${entry}: ${cidr}` };
        set.add(cidr);
      }
      return make((_ctx, value) => {
        try {
          return set.has(value) ? [value] : null;
        } catch {
          return null;
        }
      });
    }
    case 'detectsqli':
      // TX.0 gets the fingerprint, as ModSecurity sets it.
      return make(
        (_ctx, value) => {
          const print = sqliMemo.get(value, detectSqli);
          return print === null ? null : [print];
        },
        undefined,
        true,
      );
    case 'detectxss':
      return make((_ctx, value) => (xssMemo.get(value, detectXss) ? [value] : null), undefined, true);
    case 'validatebyterange': {
      const allowed = parseByteRanges(argument);
      if (typeof allowed === 'string') return { ok: false, error: `@validateByteRange: ${allowed}` };
      const run: Run = (_ctx, value) => {
        for (let i = 0; i < value.length; i++) {
          if (!allowed[value.charCodeAt(i) & 0xff]) return [value[i]!];
        }
        return null;
      };
      return make(run, undefined, true);
    }
    case 'validateurlencoding':
      return make((_ctx, value) => (invalidUrlEncoding(value) ? [value] : null), undefined, true);
    case 'validateutf8encoding':
      return make((_ctx, value) => (invalidUtf8(value) ? [value] : null), undefined, true);
    case 'unconditionalmatch':
      return make((_ctx, value) => [value]);
    case 'nomatch':
      return make(() => null);
    default:
      return { ok: false, error: `operator @${name} is not supported by Bulwark` };
  }
}

function dynamicRegex(arg: Template): Run {
  // A pattern with macros is compiled per distinct expansion; a few entries keep a hostile rule set bounded.
  const cache = new Map<string, CompiledRegex | null>();
  return (ctx, value, capture) => {
    const pattern = expand(arg, ctx);
    let re = cache.get(pattern);
    if (re === undefined) {
      const compiled = compileRegex(pattern);
      re = compiled.ok ? compiled.regex : null;
      if (cache.size > 64) cache.clear();
      cache.set(pattern, re);
    }
    if (!re) return null;
    const subject = ctx.subject(value);
    return capture ? re.exec(subject) : re.test(subject) ? [value] : null;
  };
}

function stringOp(arg: Template, test: (value: string, arg: string) => boolean, matchedIsArg = false): Run {
  return (ctx, value) => {
    const a = typeof arg === 'string' ? arg : expand(arg, ctx);
    return test(value, a) ? [matchedIsArg ? a : value] : null;
  };
}

/** ModSecurity converts both sides with atoi: leading digits count, anything else is 0. */
export function toInt(text: string): number {
  const n = parseInt(text, 10);
  return Number.isNaN(n) ? 0 : n;
}

/**
 * A match whose groups nobody reads: the rule does not capture. CRS's paranoia-level gates and score checks match
 * on every request; they share this instead of each allocating `[value]`.
 */
const UNCAPTURED: OperatorMatch = Object.freeze(['']);

function numericOp(arg: Template, test: (value: number, arg: number) => boolean): Run {
  const constant = typeof arg === 'string' ? toInt(arg) : undefined;
  return (ctx, value, capture) => {
    const a = constant ?? toInt(expand(arg, ctx));
    return test(toInt(value), a) ? (capture ? [value] : UNCAPTURED) : null;
  };
}

function containsWord(value: string, word: string): boolean {
  if (word === '') return true;
  let from = 0;
  for (;;) {
    const at = value.indexOf(word, from);
    if (at < 0) return false;
    const before = at === 0 ? '' : value[at - 1]!;
    const after = value[at + word.length] ?? '';
    if (!/\w/.test(before) && !/\w/.test(after)) return true;
    from = at + 1;
  }
}

/** `@pmFromFile` lines: trimmed, blank and `#` lines skipped; several files may be named, separated by spaces. */
function readPhraseFiles(argument: string, baseDir: string): string[] | string {
  const phrases: string[] = [];
  for (const name of argument.split(/\s+/).filter(Boolean)) {
    const path = isAbsolute(name) ? name : join(baseDir, name);
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch (err) {
      return `${path}: ${(err as Error).message}`;
    }
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) phrases.push(line);
    }
  }
  return phrases;
}

function parseByteRanges(argument: string): Uint8Array | string {
  const allowed = new Uint8Array(256);
  for (const part of argument.split(',').map((s) => s.trim())) {
    const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(part);
    if (!m) return `"${part}" is not a byte or a range of bytes`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 255 || hi > 255 || lo > hi) return `"${part}" is outside 0-255 or reversed`;
    allowed.fill(1, lo, hi + 1);
  }
  return allowed;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function invalidUrlEncoding(value: string): boolean {
  for (let i = value.indexOf('%'); i >= 0; i = value.indexOf('%', i + 1)) {
    if (!HEX.test(value.slice(i + 1, i + 3))) return true;
  }
  return false;
}

/** Invalid UTF-8 as ModSecurity judges it: bad lead or continuation bytes, truncation, overlong forms. */
function invalidUtf8(value: string): boolean {
  const n = value.length;
  for (let i = 0; i < n;) {
    const c = value.charCodeAt(i) & 0xff;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if ((c & 0xe0) === 0xc0) [need, min] = [1, 0x80];
    else if ((c & 0xf0) === 0xe0) [need, min] = [2, 0x800];
    else if ((c & 0xf8) === 0xf0) [need, min] = [3, 0x10000];
    else return true;
    if (i + need >= n) return true;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = value.charCodeAt(i + k) & 0xff;
      if ((cc & 0xc0) !== 0x80) return true;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return true;
    i += need + 1;
  }
  return false;
}
