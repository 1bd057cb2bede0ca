/** Parsers for the three argument forms of SecRule: the target list, the operator and the action list. */
import type { ActionSpec, OperatorSpec, VariableSpec } from './types.js';

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** `ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/^sess/|XML:/*`; a `/regex/` selector may hold `|`. */
export function parseVariables(text: string): Result<VariableSpec[]> {
  const out: VariableSpec[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '|')) i++;
    if (i >= n) break;
    let exclude = false;
    let count = false;
    if (text[i] === '!') {
      exclude = true;
      i++;
    } else if (text[i] === '&') {
      count = true;
      i++;
    }
    const nameStart = i;
    while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(nameStart, i).toUpperCase();
    if (name === '')
      return { ok: false, error: `expected a variable name at "${text.slice(nameStart, nameStart + 20)}"` };
    let key: string | undefined;
    let keyIsRegex = false;
    if (text[i] === ':') {
      i++;
      if (text[i] === '/' && name !== 'XML') {
        // A regex selector runs to the next unescaped slash.
        let j = i + 1;
        while (j < n && text[j] !== '/') j += text[j] === '\\' ? 2 : 1;
        if (j >= n) return { ok: false, error: `unterminated /regex/ selector on ${name}` };
        key = text.slice(i + 1, j);
        keyIsRegex = true;
        i = j + 1;
      } else if (text[i] === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) return { ok: false, error: `unterminated quoted selector on ${name}` };
        key = text.slice(i + 1, end);
        i = end + 1;
      } else {
        const start = i;
        while (i < n && text[i] !== '|') i++;
        key = text.slice(start, i).trimEnd();
      }
      if (key === '') return { ok: false, error: `empty selector after ${name}:` };
    }
    if (i < n && text[i] !== '|') return { ok: false, error: `unexpected "${text[i]}" after ${name}` };
    out.push(key === undefined ? { name, keyIsRegex, exclude, count } : { name, key, keyIsRegex, exclude, count });
  }
  if (out.length === 0) return { ok: false, error: 'no variables' };
  return { ok: true, value: out };
}

/** `@rx pattern`, `!@pm a b`, or a bare pattern (an implicit `@rx`). */
export function parseOperator(text: string): Result<OperatorSpec> {
  let s = text;
  let negated = false;
  if (s.startsWith('!')) {
    negated = true;
    s = s.slice(1);
  }
  if (!s.startsWith('@')) return { ok: true, value: { name: 'rx', negated, argument: s } };
  const m = /^@([A-Za-z0-9]+)(?:\s+|$)/.exec(s);
  if (!m) return { ok: false, error: `malformed operator "${text.slice(0, 30)}"` };
  return { ok: true, value: { name: m[1]!.toLowerCase(), negated, argument: s.slice(m[0].length) } };
}

/** `id:1,phase:2,msg:'a, b',t:none`: commas inside single quotes do not split; `\'` is a quote. */
export function parseActions(text: string): Result<ActionSpec[]> {
  const out: ActionSpec[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (name === '') return { ok: false, error: `expected an action name at "${text.slice(i, i + 20)}"` };
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n || text[i] === ',') {
      out.push({ name });
      continue;
    }
    if (text[i] !== ':') return { ok: false, error: `unexpected "${text[i]}" after action ${name}` };
    i++;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && (text[i + 1] === "'" || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (c === "'") {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) return { ok: false, error: `unterminated quoted value for action ${name}` };
    } else {
      const start = i;
      while (i < n && text[i] !== ',') i++;
      value = text.slice(start, i).trimEnd();
    }
    out.push({ name, value });
  }
  return { ok: true, value: out };
}
