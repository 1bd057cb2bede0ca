/**
 * SecLang is read the way Apache reads its configuration, which is how ModSecurity rule files were written:
 * a line ending in a backslash continues on the next line, `#` starts a comment only at the start of a line,
 * and arguments are words or quoted strings in which only a backslash before the quote character is an escape.
 */

export interface LogicalLine {
  readonly text: string;
  /** 1-based line where the directive starts. */
  readonly line: number;
}

export interface LexError {
  readonly line: number;
  readonly message: string;
}

/** Joins continuation lines and drops comments and blank lines. */
export function logicalLines(source: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const raw = source.split(/\r?\n/);
  let buffer = '';
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    let piece = raw[i]!;
    if (buffer === '') {
      const trimmed = piece.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      start = i + 1;
      piece = trimmed;
    }
    if (piece.endsWith('\\') && !piece.endsWith('\\\\')) {
      // Apache keeps the text before the backslash and the next line's leading whitespace.
      buffer += piece.slice(0, -1);
      continue;
    }
    buffer += piece;
    const text = buffer.trim();
    if (text !== '') out.push({ text, line: start });
    buffer = '';
  }
  if (buffer.trim() !== '') out.push({ text: buffer.trim(), line: start });
  return out;
}

/** Splits a logical line into the directive name and its arguments. */
export function splitArguments(text: string): { words: string[] } | { error: string } {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      i++;
      let word = '';
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && text[i + 1] === quote) {
          word += quote;
          i += 2;
          continue;
        }
        if (c === quote) {
          closed = true;
          i++;
          break;
        }
        word += c;
        i++;
      }
      if (!closed) return { error: `unterminated ${quote === '"' ? 'double' : 'single'}-quoted argument` };
      words.push(word);
      continue;
    }
    let start = i;
    while (i < n && text[i] !== ' ' && text[i] !== '\t') i++;
    words.push(text.slice(start, i));
    start = i;
  }
  return { words };
}
