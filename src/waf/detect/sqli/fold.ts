/**
 * Folding: collapse the token stream into at most five tokens that keep the shape of the statement. `1+1` is a
 * number, `"a" "b"` a string, `- 1` a number, `NOT IN (` an operator; leading comments, parentheses and unary
 * operators go. The result is what libinjection fingerprints, so each rule here mirrors one of its folds.
 */
import { asciiUpper, copyToken, lookupWord, newToken, T, type SqlLexer, type SqlToken } from './tokenizer.js';
import { mayBeWord } from './words.js';

/** Tokens in a fingerprint. */
export const MAX_TOKENS = 5;

function isUnaryOp(t: SqlToken): boolean {
  if (t.type !== T.operator) return false;
  switch (t.len) {
    case 1:
      return t.text === '+' || t.text === '-' || t.text === '!' || t.text === '~';
    case 2:
      return t.text === '!!';
    case 3:
      return asciiUpper(t.text) === 'NOT';
    default:
      return false;
  }
}

function isArithmeticOp(t: SqlToken): boolean {
  return t.type === T.operator && t.len === 1 && '*/-+%'.includes(t.text);
}

function textIs(t: SqlToken, ...words: string[]): boolean {
  const upper = asciiUpper(t.text);
  return words.includes(upper);
}

const MERGE_LEFT = new Set<string>([
  T.keyword,
  T.bareword,
  T.operator,
  T.union,
  T.func,
  T.expression,
  T.tsql,
  T.sqlType,
]);
const MERGE_RIGHT = new Set<string>([...MERGE_LEFT, T.logic]);

/** `GROUP` + `BY` → `GROUP BY` when the pair is itself a SQL phrase; true when merged into `a`. */
function mergeWords(a: SqlToken, b: SqlToken): boolean {
  if (!MERGE_LEFT.has(a.type) || !MERGE_RIGHT.has(b.type)) return false;
  const length = a.text.length + 1 + b.text.length;
  if (length >= 32) return false;
  // The phrase's first two characters are a's (or a's one and the space): most pairs stop here, unbuilt.
  if (!mayBeWord(length, a.text.charCodeAt(0), a.text.length > 1 ? a.text.charCodeAt(1) : 32)) return false;
  const merged = `${a.text} ${b.text}`;
  const type = lookupWord(merged);
  if (type === '') return false;
  a.type = type;
  a.len = merged.length;
  a.text = merged;
  return true;
}

// TSQL functions and MySQL words that are also common column names: a function only when called.
const FUNCTION_IF_CALLED = [
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
];

const VALUE_TYPES_AFTER_SQLTYPE = new Set<string>([
  T.bareword,
  T.number,
  T.sqlType,
  T.leftParen,
  T.func,
  T.variable,
  T.string,
]);

function isOneOf(t: SqlToken, ...types: string[]): boolean {
  return types.includes(t.type);
}

/**
 * Tokenizes and folds; `vec` must hold at least eight tokens. Returns how many of them form the fingerprint.
 */
export function fold(lx: SqlLexer, vec: SqlToken[]): number {
  const lastComment = newToken();
  let pos = 0;
  let left = 0;
  let more = true;

  // Skip leading comments, opening parentheses, SQL types and unary operators.
  for (;;) {
    more = lx.next(vec[0]!);
    const t = vec[0]!;
    if (!(t.type === T.comment || t.type === T.leftParen || t.type === T.sqlType || isUnaryOp(t))) break;
    if (!more) break;
  }
  if (!more) return 0;
  pos = 1;

  // Reads tokens until `want` are pending after `left`; comments are kept aside (only the last one counts).
  const fill = (want: number): void => {
    while (more && pos <= MAX_TOKENS && pos - left < want) {
      const t = vec[pos]!;
      more = lx.next(t);
      if (!more) continue;
      if (t.type === T.comment) {
        copyToken(lastComment, t);
      } else {
        lastComment.type = '';
        pos++;
      }
    }
  };

  for (;;) {
    if (pos >= MAX_TOKENS && fiveTokenRestart(vec)) {
      // `1,(1)` and friends: keep folding from the start with the sixth token (if any) second.
      if (pos > MAX_TOKENS) {
        copyToken(vec[1]!, vec[MAX_TOKENS]!);
        pos = 2;
      } else {
        pos = 1;
      }
      left = 0;
    }
    if (!more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }

    fill(2);
    if (pos - left < 2) {
      left = pos;
      continue;
    }

    const a = vec[left]!;
    const b = vec[left + 1]!;
    if (a.type === T.string && b.type === T.string) {
      pos--;
      lx.folds++;
      continue;
    }
    if (a.type === T.semicolon && b.type === T.semicolon) {
      pos--;
      lx.folds++;
      continue;
    }
    if ((a.type === T.operator || a.type === T.logic) && (isUnaryOp(b) || b.type === T.sqlType)) {
      pos--;
      lx.folds++;
      left = 0;
      continue;
    }
    if (a.type === T.leftParen && isUnaryOp(b)) {
      pos--;
      lx.folds++;
      if (left > 0) left--;
      continue;
    }
    if (mergeWords(a, b)) {
      pos--;
      lx.folds++;
      if (left > 0) left--;
      continue;
    }
    if (a.type === T.semicolon && b.type === T.func && asciiUpper(b.text.slice(0, 2)) === 'IF') {
      // After `;` IF is Transact-SQL control flow, not the IF() function.
      b.type = T.tsql;
      continue;
    }
    if (isOneOf(a, T.bareword, T.variable) && b.type === T.leftParen && textIs(a, ...FUNCTION_IF_CALLED)) {
      a.type = T.func;
      continue;
    }
    if (a.type === T.keyword && textIs(a, 'IN', 'NOT IN')) {
      // `IN (` compares; a bare IN is probably MySQL's `IN BOOLEAN MODE`, merged later.
      a.type = b.type === T.leftParen ? T.operator : T.bareword;
      continue;
    }
    if (a.type === T.operator && textIs(a, 'LIKE', 'NOT LIKE')) {
      if (b.type === T.leftParen) a.type = T.func;
    } else if (a.type === T.sqlType && VALUE_TYPES_AFTER_SQLTYPE.has(b.type)) {
      copyToken(a, b);
      pos--;
      lx.folds++;
      left = 0;
      continue;
    } else if (a.type === T.collate && b.type === T.bareword) {
      // Too many collations to list; one with an underscore is taken for a type.
      if (b.text.includes('_')) {
        b.type = T.sqlType;
        left = 0;
      }
    } else if (a.type === T.backslash) {
      // Transact-SQL reads `\%1` as `0 % 1` and `\1` as `1`.
      if (isArithmeticOp(b)) {
        a.type = T.number;
      } else {
        copyToken(a, b);
        pos--;
        lx.folds++;
      }
      left = 0;
      continue;
    } else if (
      (a.type === T.leftParen && b.type === T.leftParen) ||
      (a.type === T.rightParen && b.type === T.rightParen)
    ) {
      pos--;
      left = 0;
      lx.folds++;
      continue;
    } else if (a.type === T.leftBrace && b.type === T.bareword) {
      // ODBC/MySQL `{name expr}`: drop `{ name`; MySQL's `{ ``.``.id }` cannot be folded and is called evil.
      if (b.len === 0) {
        b.type = T.evil;
        return left + 2;
      }
      left = 0;
      pos -= 2;
      lx.folds += 2;
      continue;
    } else if (b.type === T.rightBrace) {
      pos--;
      left = 0;
      lx.folds++;
      continue;
    }

    fill(3);
    if (pos - left < 3) {
      left = pos;
      continue;
    }
    const removed = foldTriple(vec, left, lx);
    if (removed > 0) {
      left = 0;
      pos -= removed;
      continue;
    }
    left++;
  }

  // Put back a trailing comment if there is room.
  if (left < MAX_TOKENS && lastComment.type === T.comment) {
    copyToken(vec[left]!, lastComment);
    left++;
  }
  return Math.min(left, MAX_TOKENS);
}

function fiveTokenRestart(v: SqlToken[]): boolean {
  const [a, b, c, d, e] = v as [SqlToken, SqlToken, SqlToken, SqlToken, SqlToken];
  return (
    (a.type === T.number &&
      (b.type === T.operator || b.type === T.comma) &&
      c.type === T.leftParen &&
      d.type === T.number &&
      e.type === T.rightParen) ||
    (a.type === T.bareword &&
      b.type === T.operator &&
      c.type === T.leftParen &&
      (d.type === T.bareword || d.type === T.number) &&
      e.type === T.rightParen) ||
    (a.type === T.number &&
      b.type === T.rightParen &&
      c.type === T.comma &&
      d.type === T.leftParen &&
      e.type === T.number) ||
    (a.type === T.bareword &&
      b.type === T.rightParen &&
      c.type === T.operator &&
      d.type === T.leftParen &&
      e.type === T.bareword)
  );
}

/**
 * Three-token folds. Returns how many tokens to drop from the end before folding again from the start (0: none;
 * `copyToken(b, c)` first when the middle one goes).
 */
function foldTriple(vec: SqlToken[], left: number, lx: SqlLexer): number {
  const a = vec[left]!;
  const b = vec[left + 1]!;
  const c = vec[left + 2]!;
  const shrink = (n: number): number => n;
  // value op value → value
  if (a.type === T.number && b.type === T.operator && c.type === T.number) return shrink(2);
  if (a.type === T.operator && b.type !== T.leftParen && c.type === T.operator) return shrink(2);
  if (a.type === T.logic && c.type === T.logic) return shrink(2);
  if (a.type === T.variable && b.type === T.operator && isOneOf(c, T.variable, T.number, T.bareword)) return shrink(2);
  if (isOneOf(a, T.bareword, T.number) && b.type === T.operator && isOneOf(c, T.number, T.bareword)) return shrink(2);
  // PostgreSQL casts: x::type
  if (
    isOneOf(a, T.bareword, T.number, T.variable, T.string) &&
    b.type === T.operator &&
    b.text === '::' &&
    c.type === T.sqlType
  ) {
    lx.folds += 2;
    return shrink(2);
  }
  // lists: a, b
  if (
    isOneOf(a, T.bareword, T.number, T.string, T.variable) &&
    b.type === T.comma &&
    isOneOf(c, T.number, T.bareword, T.string, T.variable)
  ) {
    return shrink(2);
  }
  // Unary operators after SELECT, LIMIT, commas and keywords go.
  if (isOneOf(a, T.expression, T.group, T.comma) && isUnaryOp(b) && c.type === T.leftParen) {
    copyToken(b, c);
    return shrink(1);
  }
  if (
    isOneOf(a, T.keyword, T.expression, T.group) &&
    isUnaryOp(b) &&
    isOneOf(c, T.number, T.bareword, T.variable, T.string, T.func)
  ) {
    copyToken(b, c);
    return shrink(1);
  }
  if (a.type === T.comma && isUnaryOp(b) && isOneOf(c, T.number, T.bareword, T.variable, T.string)) {
    // `1,-1` → `1`: back up so the list fold can run again.
    copyToken(b, c);
    return shrink(3);
  }
  if (a.type === T.comma && isUnaryOp(b) && c.type === T.func) {
    copyToken(b, c);
    return shrink(1);
  }
  // database.table
  if (a.type === T.bareword && b.type === T.dot && c.type === T.bareword) return shrink(2);
  // SELECT . `foo` → SELECT `foo`
  if (a.type === T.expression && b.type === T.dot && c.type === T.bareword) {
    copyToken(b, c);
    return shrink(1);
  }
  // USER() takes no arguments: USER(foo) is a name.
  if (a.type === T.func && b.type === T.leftParen && c.type !== T.rightParen && textIs(a, 'USER')) {
    a.type = T.bareword;
  }
  return 0;
}
