/**
 * `@rx` on RE2: linear time on every input, so no rule can be turned into a ReDoS (docs/rationale.md has the
 * measurements behind the choice). Values are byte strings; RE2 runs in UTF-8 mode, so each value is handed over as
 * the UTF-8 encoding of its one-char-per-byte string: `.` then matches one request byte and `\xE9` names byte 0xE9,
 * as PCRE does in byte mode. Patterns compile with DOTALL and without MULTILINE, ModSecurity v2's flags.
 */
import RE2 from 're2';

export interface CompiledRegex {
  readonly source: string;
  test(subject: Buffer): boolean;
  /** Group 0 and the capture groups as byte strings; undefined for a group that did not take part. */
  exec(subject: Buffer): (string | undefined)[] | null;
}

export type RegexResult = { ok: true; regex: CompiledRegex } | { ok: false; error: string };

/**
 * PCRE's `\s` is `[\t\n\v\f\r ]`; RE2's leaves out `\v`. Spell it out so both agree. Inside a class only `\s`
 * is rewritten; a `\S` there keeps RE2's meaning, which differs only for `\v`.
 */
export function rewriteWhitespaceClasses(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1]!;
      if (next === 's') out += inClass ? '\\t-\\r ' : '[\\t-\\r ]';
      else if (next === 'S' && !inClass) out += '[^\\t-\\r ]';
      else out += c + next;
      i++;
      continue;
    }
    if (c === '[' && !inClass) {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal member, not the end of the class.
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

export function compileRegex(pattern: string): RegexResult {
  let re: RE2;
  try {
    re = new RE2(rewriteWhitespaceClasses(pattern), 's');
  } catch (err) {
    return { ok: false, error: `RE2 cannot compile it: ${(err as Error).message}` };
  }
  return {
    ok: true,
    regex: {
      source: pattern,
      test: (subject) => re.test(subject),
      exec(subject) {
        const m = re.exec(subject) as unknown as (Buffer | undefined)[] | null;
        if (!m) return null;
        const groups: (string | undefined)[] = [];
        for (let i = 0; i < m.length; i++) {
          const g = m[i];
          groups.push(g === undefined ? undefined : g.toString('utf8'));
        }
        return groups;
      },
    },
  };
}

/** One pass that says which of many patterns can match a value (a prefilter: the chosen ones then run alone). */
export interface RegexSet {
  match(subject: Buffer): number[];
}

export function compileRegexSet(patterns: readonly string[]): RegexSet | undefined {
  try {
    const set = new RE2.Set(patterns.map(rewriteWhitespaceClasses), 's');
    return { match: (subject) => set.match(subject) };
  } catch {
    return undefined;
  }
}

/** The UTF-8 form RE2 wants for a byte string. ASCII-only strings, the common case, need no widening. */
export function toSubject(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}
