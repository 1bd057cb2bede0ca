/**
 * SQL tokenizer with libinjection's semantics: it reads any byte string as if it were a fragment of SQL in some
 * dialect and names each token with one letter. The letters of the first few tokens, after folding, form the
 * fingerprint that decides. Behaviour (including the odd corners: truncation of token text to 31 bytes, NUL counted as
 * white space, MySQL `/*!` comments) follows libinjection so fingerprints agree with its published vectors.
 *
 * Input is a byte string: one char per byte (latin1), as the WAF engine hands values to operators.
 */
import { CHAR_CLASSES } from './data.js';
import { asciiUpper, lookupWord } from './words.js';

export { asciiUpper, lookupWord };

/** Token types: the letters that make up a fingerprint. */
export const T = {
  none: '',
  keyword: 'k',
  union: 'U',
  group: 'B',
  expression: 'E',
  sqlType: 't',
  func: 'f',
  bareword: 'n',
  number: '1',
  variable: 'v',
  string: 's',
  operator: 'o',
  logic: '&',
  comment: 'c',
  collate: 'A',
  leftParen: '(',
  rightParen: ')',
  leftBrace: '{',
  rightBrace: '}',
  dot: '.',
  comma: ',',
  colon: ':',
  semicolon: ';',
  tsql: 'T',
  unknown: '?',
  evil: 'X',
  backslash: '\\',
} as const;

/** How to read the input: as-is, or as if it followed an opening quote; ANSI or MySQL comment rules. */
export const FLAG_QUOTE_NONE = 1;
export const FLAG_QUOTE_SINGLE = 2;
export const FLAG_QUOTE_DOUBLE = 4;
export const FLAG_SQL_ANSI = 8;
export const FLAG_SQL_MYSQL = 16;

/** Longest token text kept; longer tokens are cut, as libinjection's fixed 32-byte buffers do. */
const MAX_TEXT = 31;

export interface SqlToken {
  type: string;
  pos: number;
  /** Length of `text` (already cut to 31). */
  len: number;
  text: string;
  /** Quote that opened / closed a string, '' when none (or a synthetic one). */
  open: string;
  close: string;
  /** Number of `@` before a variable. */
  count: number;
}

export function newToken(): SqlToken {
  return { type: '', pos: 0, len: 0, text: '', open: '', close: '', count: 0 };
}

export function clearToken(t: SqlToken): void {
  t.type = '';
  t.pos = 0;
  t.len = 0;
  t.text = '';
  t.open = '';
  t.close = '';
  t.count = 0;
}

export function copyToken(to: SqlToken, from: SqlToken): void {
  to.type = from.type;
  to.pos = from.pos;
  to.len = from.len;
  to.text = from.text;
  to.open = from.open;
  to.close = from.close;
  to.count = from.count;
}

/** Sets type, position and text (cut to 31 bytes); leaves quotes and count alone. */
export function setToken(t: SqlToken, type: string, pos: number, text: string): void {
  const cut = text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text;
  t.type = type;
  t.pos = pos;
  t.len = cut.length;
  t.text = cut;
}

function byteSet(chars: string, withNul: boolean): Uint8Array {
  const set = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  if (withNul) set[0] = 1;
  return set;
}

// The end-of-word and end-of-variable sets; NUL always ends a word (libinjection scans with strchr).
const WORD_END = byteSet(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\xa0', true);
const VAR_END = byteSet(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"", true);
const WHITE = byteSet(' \t\n\v\f\r\xa0', true);
// Span sets also accept NUL, for the same reason.
const HEX_DIGITS = byteSet('0123456789ABCDEFabcdef', true);
const BIN_DIGITS = byteSet('01', true);
const MONEY_CHARS = byteSet('0123456789.,', true);
const LETTERS = byteSet('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', true);

export function isWhite(code: number): boolean {
  return WHITE[code] === 1;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Length of the run at `from` whose bytes are all in `set`. */
function spanIn(s: string, from: number, set: Uint8Array): number {
  let i = from;
  while (i < s.length && set[s.charCodeAt(i) & 0xff] === 1) i++;
  return i - from;
}

/** Length of the run at `from` whose bytes are all outside `set`. */
function spanOut(s: string, from: number, set: Uint8Array): number {
  let i = from;
  while (i < s.length && set[s.charCodeAt(i) & 0xff] !== 1) i++;
  return i - from;
}

/** Index of the first `a` immediately followed by `b` in s[from, end), or -1. */
function findPair(s: string, from: number, end: number, a: string, b: string): number {
  for (let i = from; i + 1 < end; i++) if (s[i] === a && s[i + 1] === b) return i;
  return -1;
}

type Reader = (lx: SqlLexer) => number;

/**
 * Walks one input, a token per `next()` call. Counters feed the false-positive checks: how many tokens were read and
 * whether MySQL-only comment forms appeared (then the input is read a second time with MySQL rules).
 */
export class SqlLexer {
  pos = 0;
  tokens = 0;
  folds = 0;
  commentDdx = 0;
  commentHash = 0;
  current: SqlToken = newToken();

  constructor(
    readonly s: string,
    readonly flags: number,
  ) {}

  /** Reads the next token into `into`; false at the end of input. */
  next(into: SqlToken): boolean {
    const s = this.s;
    if (s.length === 0) return false;
    clearToken(into);
    this.current = into;
    if (this.pos === 0 && this.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
      // Pretend the input started right after an opening quote: the first token is the rest of that string.
      this.pos = readString(this, 0, this.flags & FLAG_QUOTE_SINGLE ? "'" : '"', 0);
      this.tokens++;
      return true;
    }
    while (this.pos < s.length) {
      this.pos = READERS[s.charCodeAt(this.pos) & 0xff]!(this);
      if (into.type !== '') {
        this.tokens++;
        return true;
      }
    }
    return false;
  }

  set(type: string, pos: number, len: number): void {
    setToken(this.current, type, pos, this.s.substr(pos, Math.min(len, MAX_TEXT)));
  }
}

function backslashEscaped(s: string, at: number, start: number): boolean {
  let i = at;
  while (i >= start && s[i] === '\\') i--;
  return (at - i) % 2 === 1;
}

/** A quoted string from `pos`; `offset` 1 skips a real opening quote, 0 means the quote was implied. */
function readString(lx: SqlLexer, pos: number, quote: string, offset: number): number {
  const s = lx.s;
  const start = pos + offset;
  const t = lx.current;
  t.open = offset > 0 ? quote : '';
  let q = s.indexOf(quote, start);
  for (;;) {
    if (q === -1) {
      lx.set(T.string, start, s.length - start);
      t.close = '';
      return s.length;
    }
    if (backslashEscaped(s, q - 1, start)) {
      q = s.indexOf(quote, q + 1);
    } else if (q + 1 < s.length && s[q + 1] === quote) {
      q = s.indexOf(quote, q + 2);
    } else {
      lx.set(T.string, start, q - start);
      t.close = quote;
      return q + 1;
    }
  }
}

const skipWhite: Reader = (lx) => lx.pos + 1;

const single =
  (type: string): Reader =>
  (lx) => {
    lx.set(type, lx.pos, 1);
    return lx.pos + 1;
  };

const operator1 = single(T.operator);
const unknown = single(T.unknown);
/** Parentheses, braces, comma and semicolon are their own token type. */
const asItself: Reader = (lx) => {
  lx.set(lx.s[lx.pos]!, lx.pos, 1);
  return lx.pos + 1;
};

function toEndOfLine(lx: SqlLexer): number {
  const s = lx.s;
  const nl = s.indexOf('\n', lx.pos);
  if (nl === -1) {
    lx.set(T.comment, lx.pos, s.length - lx.pos);
    return s.length;
  }
  lx.set(T.comment, lx.pos, nl - lx.pos);
  return nl + 1;
}

const hash: Reader = (lx) => {
  lx.commentHash++;
  if (lx.flags & FLAG_SQL_MYSQL) {
    lx.commentHash++;
    return toEndOfLine(lx);
  }
  return operator1(lx);
};

const dash: Reader = (lx) => {
  const { s, pos } = lx;
  const nextIsDash = pos + 1 < s.length && s[pos + 1] === '-';
  // `--` then white space or the end is a comment everywhere; `--x` is one only outside MySQL.
  if (nextIsDash && pos + 2 < s.length && isWhite(s.charCodeAt(pos + 2))) return toEndOfLine(lx);
  if (nextIsDash && pos + 2 === s.length) return toEndOfLine(lx);
  if (nextIsDash && lx.flags & FLAG_SQL_ANSI) {
    lx.commentDdx++;
    return toEndOfLine(lx);
  }
  return operator1(lx);
};

const slash: Reader = (lx) => {
  const { s, pos } = lx;
  if (pos + 1 === s.length || s[pos + 1] !== '*') return operator1(lx);
  const close = findPair(s, pos + 2, s.length, '*', '/');
  const len = close === -1 ? s.length - pos : close + 2 - pos;
  let type: string = T.comment;
  // A comment inside a comment (PostgreSQL nests them) or a MySQL `/*!` executable comment cannot be read reliably.
  if (close !== -1 && findPair(s, pos + 2, close + 1, '/', '*') !== -1) type = T.evil;
  else if (pos + 2 < s.length && s[pos + 2] === '!') type = T.evil;
  lx.set(type, pos, len);
  return pos + len;
};

const backslash: Reader = (lx) => {
  const { s, pos } = lx;
  if (pos + 1 < s.length && s[pos + 1] === 'N') {
    // MySQL spells NULL `\N`.
    lx.set(T.number, pos, 2);
    return pos + 2;
  }
  lx.set(T.backslash, pos, 1);
  return pos + 1;
};

const operator2: Reader = (lx) => {
  const { s, pos } = lx;
  if (pos + 1 >= s.length) return operator1(lx);
  if (pos + 2 < s.length && s[pos] === '<' && s[pos + 1] === '=' && s[pos + 2] === '>') {
    lx.set(T.operator, pos, 3);
    return pos + 3;
  }
  const type = lookupWord(s.substr(pos, 2));
  if (type !== '') {
    lx.set(type, pos, 2);
    return pos + 2;
  }
  if (s[pos] === ':') {
    lx.set(T.colon, pos, 1);
    return pos + 1;
  }
  return operator1(lx);
};

const quoted: Reader = (lx) => readString(lx, lx.pos, lx.s[lx.pos]!, 1);

const word: Reader = (lx) => {
  const { s, pos } = lx;
  const len = spanOut(s, pos, WORD_END);
  lx.set(T.bareword, pos, len);
  const t = lx.current;
  // `SELECT.1` or `SELECT`col``: a keyword before a dot or backtick stands on its own.
  for (let i = 0; i < t.len; i++) {
    const c = t.text[i];
    if (c === '.' || c === '`') {
      const type = lookupWord(t.text.slice(0, i));
      if (type !== '' && type !== T.bareword) {
        clearToken(t);
        lx.set(type, pos, i);
        return pos + i;
      }
    }
  }
  if (len <= MAX_TEXT) t.type = lookupWord(t.text) || T.bareword;
  return pos + len;
};

const tick: Reader = (lx) => {
  const next = readString(lx, lx.pos, '`', 1);
  const t = lx.current;
  // MySQL reads anything in backticks as a name, unless it names a function.
  t.type = lookupWord(t.text) === T.func ? T.func : T.bareword;
  return next;
};

const variable: Reader = (lx) => {
  const s = lx.s;
  let pos = lx.pos + 1;
  const t = lx.current;
  if (pos < s.length && s[pos] === '@') {
    pos++;
    t.count = 2;
  } else {
    t.count = 1;
  }
  if (pos < s.length) {
    const c = s[pos];
    if (c === '`') {
      lx.pos = pos;
      const next = tick(lx);
      t.type = T.variable;
      return next;
    }
    if (c === "'" || c === '"') {
      lx.pos = pos;
      const next = quoted(lx);
      t.type = T.variable;
      return next;
    }
  }
  const len = spanOut(s, pos, VAR_END);
  lx.set(T.variable, pos, len);
  return pos + len;
};

const money: Reader = (lx) => {
  const { s, pos } = lx;
  const t = lx.current;
  if (pos + 1 === s.length) {
    lx.set(T.bareword, pos, 1);
    return s.length;
  }
  const digits = spanIn(s, pos + 1, MONEY_CHARS);
  if (digits === 1 && s[pos + 1] === '.') return word(lx);
  if (digits > 0) {
    // $1,000.00 money literal (SQL Server).
    lx.set(T.number, pos, 1 + digits);
    return pos + 1 + digits;
  }
  if (s[pos + 1] === '$') {
    // PostgreSQL $$dollar-quoted$$ string.
    const end = findPair(s, pos + 2, s.length, '$', '$');
    t.open = '$';
    if (end === -1) {
      lx.set(T.string, pos + 2, s.length - pos - 2);
      t.close = '';
      return s.length;
    }
    lx.set(T.string, pos + 2, end - pos - 2);
    t.close = '$';
    return end + 2;
  }
  // $tag$ ... $tag$ (PostgreSQL).
  const tagLen = spanIn(s, pos + 1, LETTERS);
  if (tagLen === 0 || pos + tagLen + 1 === s.length || s[pos + tagLen + 1] !== '$') {
    lx.set(T.bareword, pos, 1);
    return pos + 1;
  }
  const tag = s.substr(pos, tagLen + 2);
  const bodyStart = pos + tagLen + 2;
  // libinjection searches from offset tagLen+2 of the whole input within its first (length - pos) bytes, and calls
  // anything found before the body an unterminated string; kept so fingerprints agree.
  const found = s.slice(0, s.length - pos).indexOf(tag, tagLen + 2);
  t.open = '$';
  if (found === -1 || found < bodyStart) {
    lx.set(T.string, bodyStart, s.length - bodyStart);
    t.close = '';
    return s.length;
  }
  lx.set(T.string, bodyStart, found - bodyStart);
  t.close = '$';
  return found + tagLen + 2;
};

const number: Reader = (lx) => {
  const s = lx.s;
  let pos = lx.pos;
  if (s[pos] === '0' && pos + 1 < s.length) {
    const x = s[pos + 1];
    const digits = x === 'x' || x === 'X' ? HEX_DIGITS : x === 'b' || x === 'B' ? BIN_DIGITS : undefined;
    if (digits) {
      const len = spanIn(s, pos + 2, digits);
      lx.set(len === 0 ? T.bareword : T.number, pos, 2 + len);
      return pos + 2 + len;
    }
  }
  const start = pos;
  while (pos < s.length && isDigit(s.charCodeAt(pos))) pos++;
  if (pos < s.length && s[pos] === '.') {
    pos++;
    while (pos < s.length && isDigit(s.charCodeAt(pos))) pos++;
    if (pos - start === 1) {
      lx.set(T.dot, start, 1);
      return pos;
    }
  }
  let hasE = false;
  let hasExponent = false;
  if (pos < s.length && (s[pos] === 'e' || s[pos] === 'E')) {
    hasE = true;
    pos++;
    if (pos < s.length && (s[pos] === '+' || s[pos] === '-')) pos++;
    while (pos < s.length && isDigit(s.charCodeAt(pos))) {
      hasExponent = true;
      pos++;
    }
  }
  // Oracle's float/double suffixes: 1.2f, 1d; `1fUNION` reads as `1f UNION`.
  const suffix = s[pos];
  if (suffix === 'd' || suffix === 'D' || suffix === 'f' || suffix === 'F') {
    const after = s[pos + 1];
    if (pos + 1 === s.length || isWhite(s.charCodeAt(pos + 1)) || after === ';' || after === 'u' || after === 'U') {
      pos++;
    }
  }
  // `1.e` without digits after the e is a word, not a number.
  lx.set(hasE && !hasExponent ? T.bareword : T.number, start, pos - start);
  return pos;
};

/** `X'..'`, `B'..'`: hex and bit literals, a word otherwise. */
const literal =
  (digitSet: Uint8Array): Reader =>
  (lx) => {
    const { s, pos } = lx;
    if (pos + 2 >= s.length || s[pos + 1] !== "'") return word(lx);
    const len = spanIn(s, pos + 2, digitSet);
    if (pos + 2 + len >= s.length || s[pos + 2 + len] !== "'") return word(lx);
    lx.set(T.number, pos, len + 3);
    return pos + len + 3;
  };

/** `E'..'`: PostgreSQL escape string. */
const estring: Reader = (lx) => {
  const { s, pos } = lx;
  if (pos + 2 >= s.length || s[pos + 1] !== "'") return word(lx);
  return readString(lx, pos, "'", 2);
};

/** `U&'..'`: Unicode string. */
const ustring: Reader = (lx) => {
  const { s, pos } = lx;
  if (!(pos + 2 < s.length && s[pos + 1] === '&' && s[pos + 2] === "'")) return word(lx);
  lx.pos += 2;
  const next = quoted(lx);
  const t = lx.current;
  t.open = 'u';
  if (t.close === "'") t.close = 'u';
  return next;
};

const CLOSING: Record<string, string> = { '(': ')', '[': ']', '{': '}', '<': '>' };

/** Oracle `q'[...]'` quoting, starting `offset` bytes in (1 for `Nq'..'`). */
function qstring(lx: SqlLexer, offset: number): number {
  const s = lx.s;
  const pos = lx.pos + offset;
  if (pos >= s.length || (s[pos] !== 'q' && s[pos] !== 'Q') || pos + 2 >= s.length || s[pos + 1] !== "'") {
    return word(lx);
  }
  const code = s.charCodeAt(pos + 2);
  if (code < 33 || code > 127) return word(lx);
  const delim = CLOSING[s[pos + 2]!] ?? s[pos + 2]!;
  const end = findPair(s, pos + 3, s.length, delim, "'");
  const t = lx.current;
  t.open = 'q';
  if (end === -1) {
    lx.set(T.string, pos + 3, s.length - pos - 3);
    t.close = '';
    return s.length;
  }
  lx.set(T.string, pos + 3, end - pos - 3);
  t.close = 'q';
  return end + 2;
}

const nqstring: Reader = (lx) => {
  const { s, pos } = lx;
  if (pos + 2 < s.length && s[pos + 1] === "'") return estring(lx);
  return qstring(lx, 1);
};

/** `[name]`: SQL Server's bracket-quoted name. */
const bracketWord: Reader = (lx) => {
  const { s, pos } = lx;
  const end = s.indexOf(']', pos);
  if (end === -1) {
    lx.set(T.bareword, pos, s.length - pos);
    return s.length;
  }
  lx.set(T.bareword, pos, end - pos + 1);
  return end + 1;
};

const BY_CLASS: Record<string, Reader> = {
  w: skipWhite,
  '!': operator2,
  s: quoted,
  '#': hash,
  $: money,
  o: operator1,
  O: operator2,
  '(': asItself,
  ')': asItself,
  u: operator1,
  ',': asItself,
  '-': dash,
  '1': number,
  '/': slash,
  ';': asItself,
  '?': unknown,
  '@': variable,
  a: word,
  B: literal(BIN_DIGITS),
  E: estring,
  N: nqstring,
  Q: (lx) => qstring(lx, 0),
  U: ustring,
  X: literal(HEX_DIGITS),
  '[': bracketWord,
  '\\': backslash,
  '`': tick,
  '{': asItself,
  '}': asItself,
};

const READERS: Reader[] = Array.from(CHAR_CLASSES, (cls) => {
  const reader = BY_CLASS[cls];
  if (!reader) throw new Error(`libinjection data: no reader for character class ${cls}`);
  return reader;
});
