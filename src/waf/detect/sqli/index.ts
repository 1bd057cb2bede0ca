/**
 * SQL injection detection by fingerprint (libinjection's method): read the input as SQL (as-is, then as if it
 * followed a single or double quote), fold it to at most five tokens, and look the token types up in a list of
 * fingerprints seen in real injections. A few short shapes that ordinary text also produces are let through.
 */
import { FINGERPRINT_TABLE } from './data.js';
import { fold, MAX_TOKENS } from './fold.js';
import {
  asciiUpper,
  FLAG_QUOTE_DOUBLE,
  FLAG_QUOTE_NONE,
  FLAG_QUOTE_SINGLE,
  FLAG_SQL_ANSI,
  FLAG_SQL_MYSQL,
  newToken,
  SqlLexer,
  T,
  type SqlToken,
} from './tokenizer.js';

export { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_NONE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL } from './tokenizer.js';
export { SqlLexer, type SqlToken } from './tokenizer.js';
export { fold } from './fold.js';

// Upper-cased because libinjection compares fingerprints case-insensitively (so `t` and `T` collide, as there).
const FINGERPRINTS = new Set(FINGERPRINT_TABLE.split('\n').map(asciiUpper));

/** One reading of the input: its fingerprint and the folded tokens behind it. */
export interface SqlReading {
  readonly fingerprint: string;
  readonly tokens: readonly SqlToken[];
  readonly lexer: SqlLexer;
}

/** Folds `input` read with `flags` and returns its fingerprint (`X` when the input cannot be read reliably). */
export function fingerprint(input: string, flags: number): SqlReading {
  const lexer = new SqlLexer(input, flags);
  const vec: SqlToken[] = Array.from({ length: MAX_TOKENS + 3 }, newToken);
  const count = fold(lexer, vec);
  const last = vec[count - 1];
  // PHP's magic backtick: an empty, unclosed `\`` at the end acts as a comment.
  if (count > 2 && last && last.type === T.bareword && last.open === '`' && last.len === 0 && last.close === '') {
    last.type = T.comment;
  }
  let print = '';
  for (let i = 0; i < count; i++) print += vec[i]!.type;
  if (print.includes(T.evil))
    return { fingerprint: T.evil, tokens: [{ ...newToken(), type: T.evil, text: 'X', len: 1 }], lexer };
  return { fingerprint: print, tokens: vec.slice(0, count), lexer };
}

/** True when the reading's fingerprint is a known injection shape and not one of the benign short cases. */
export function isInjection(reading: SqlReading, input: string): boolean {
  const print = reading.fingerprint;
  if (print.length === 0 || !FINGERPRINTS.has(asciiUpper(print))) return false;
  return !looksBenign(reading, input);
}

function looksBenign(reading: SqlReading, input: string): boolean {
  const { fingerprint: print, tokens, lexer } = reading;
  const [first, second, third] = tokens;
  // SQL Server's audit log drops statements that mention sp_password: an attacker's favourite trailing comment.
  if (print.length > 1 && print.endsWith(T.comment) && input.includes('sp_password')) return false;
  if (print.length === 2) {
    if (print[1] === T.union) return lexer.tokens === 2; // `1 union` alone is too common in text.
    if (second!.text.startsWith('#')) return true;
    if (first!.type === T.bareword && second!.type === T.comment && second!.text[0] !== '/') return true;
    if (first!.type === T.number && second!.type === T.comment) {
      if (second!.text[0] === '/') return false;
      if (lexer.tokens > 2) return false; // something was folded away: likely an attack
      // `1234--` or `1234 --`, but not base64-looking `1234-ABCD--`.
      const after = input.charCodeAt(first!.len);
      if (Number.isNaN(after) || after <= 32 || after >= 128) return false;
      const next = input[first!.len + 1];
      if ((input[first!.len] === '/' && next === '*') || (input[first!.len] === '-' && next === '-')) return false;
      return true;
    }
    // People write `--` in text; a longer trailing comment after one word is not an attack.
    if (second!.len > 2 && second!.text[0] === '-') return true;
    return false;
  }
  if (print.length === 3) {
    if (print === 'sos' || print === 's&s') {
      // ...foo' + 'bar...: both ends open and the quotes agree.
      return !(first!.open === '' && third!.close === '' && first!.close === third!.open);
    }
    if (['s&n', 'n&1', '1&1', '1&v', '1&s'].includes(print)) {
      // 'sexy and 17' is text; 'sexy and 17<18' is not.
      return lexer.tokens === 3;
    }
    if (second!.type === T.keyword) {
      // Only MySQL's INTO OUTFILE / INTO DUMPFILE count.
      return second!.len < 5 || asciiUpper(second!.text.slice(0, 4)) !== 'INTO';
    }
  }
  return false;
}

function rereadAsMysql(reading: SqlReading): boolean {
  return reading.lexer.commentDdx > 0 || reading.lexer.commentHash > 0;
}

/**
 * libinjection's verdict: the fingerprint of the reading that matched, or null when the input is not SQL injection.
 */
export function detectSqli(input: string): string | null {
  if (input.length === 0) return null;
  const tryRead = (flags: number): SqlReading | null => {
    const reading = fingerprint(input, flags);
    return isInjection(reading, input) ? reading : null;
  };
  const attempt = (quote: number, mysqlOnly: boolean): SqlReading | null => {
    if (mysqlOnly) return tryRead(quote | FLAG_SQL_MYSQL);
    const ansi = fingerprint(input, quote | FLAG_SQL_ANSI);
    if (isInjection(ansi, input)) return ansi;
    return rereadAsMysql(ansi) ? tryRead(quote | FLAG_SQL_MYSQL) : null;
  };
  const hit =
    attempt(FLAG_QUOTE_NONE, false) ??
    (input.includes("'") ? attempt(FLAG_QUOTE_SINGLE, false) : null) ??
    (input.includes('"') ? attempt(FLAG_QUOTE_DOUBLE, true) : null);
  return hit ? hit.fingerprint : null;
}
