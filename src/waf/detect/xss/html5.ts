/**
 * A forgiving HTML5 tokenizer in the manner of libinjection's: it reports tag names, attribute names and values,
 * comments and doctypes the way browsers would split them, including the non-standard corners old browsers honour
 * (NULs ignored in tag names, backquoted attribute values, `<% %>` comments). It can start inside an attribute value,
 * which is how a reflected parameter is usually placed.
 *
 * Input is a byte string (one char per byte).
 */

export type Html5TokenType =
  | 'DATA_TEXT'
  | 'TAG_NAME_OPEN'
  | 'TAG_NAME_CLOSE'
  | 'TAG_NAME_SELFCLOSE'
  | 'TAG_DATA'
  | 'TAG_CLOSE'
  | 'ATTR_NAME'
  | 'ATTR_VALUE'
  | 'TAG_COMMENT'
  | 'DOCTYPE';

/** Where the input is assumed to start. */
export type Html5Start = 'data' | 'value-unquoted' | 'value-single-quote' | 'value-double-quote' | 'value-back-quote';

type State = (t: Html5Tokenizer) => boolean;

const EOF = -1;

/** Space, tab, LF, VT, FF, CR and NUL (NUL counts as white space, as libinjection's strchr test makes it). */
function isWhite(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r' || c === '\0';
}

function isAsciiLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

export class Html5Tokenizer {
  pos = 0;
  tokenType: Html5TokenType = 'DATA_TEXT';
  tokenStart = 0;
  tokenLen = 0;
  /** Set between `</` and the tag name's end. */
  isClose = false;
  state: State;

  constructor(
    readonly s: string,
    start: Html5Start = 'data',
  ) {
    this.state = START_STATES[start];
  }

  /** Advances to the next token; false at the end. */
  next(): boolean {
    return this.state(this);
  }

  get token(): string {
    return this.s.substr(this.tokenStart, this.tokenLen);
  }

  emit(type: Html5TokenType, start: number, len: number): true {
    this.tokenType = type;
    this.tokenStart = start;
    this.tokenLen = len;
    return true;
  }

  /** Skips white space; returns the char code there or EOF. */
  skipWhite(): number {
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]!;
      if (!isWhite(c)) return this.s.charCodeAt(this.pos);
      this.pos++;
    }
    return EOF;
  }
}

const atEof: State = () => false;

const data: State = (t) => {
  const lt = t.s.indexOf('<', t.pos);
  if (lt === -1) {
    t.emit('DATA_TEXT', t.pos, t.s.length - t.pos);
    t.state = atEof;
    return t.tokenLen !== 0;
  }
  t.emit('DATA_TEXT', t.pos, lt - t.pos);
  t.pos = lt + 1;
  t.state = tagOpen;
  return t.tokenLen === 0 ? tagOpen(t) : true;
};

const tagOpen: State = (t) => {
  if (t.pos >= t.s.length) return false;
  const c = t.s[t.pos]!;
  if (c === '!') {
    t.pos++;
    return markupDeclarationOpen(t);
  }
  if (c === '/') {
    t.pos++;
    t.isClose = true;
    return endTagOpen(t);
  }
  if (c === '?') {
    t.pos++;
    return bogusComment(t);
  }
  if (c === '%') {
    // `<% ... %>`: comments in IE up to 9 and old Safari.
    t.pos++;
    return percentComment(t);
  }
  if (isAsciiLetter(c) || c === '\0') return tagName(t);
  if (t.pos === 0) return data(t);
  // A `<` that opens nothing is text.
  t.emit('DATA_TEXT', t.pos - 1, 1);
  t.state = data;
  return true;
};

const endTagOpen: State = (t) => {
  if (t.pos >= t.s.length) return false;
  const c = t.s[t.pos]!;
  if (c === '>') return data(t);
  if (isAsciiLetter(c)) return tagName(t);
  t.isClose = false;
  return bogusComment(t);
};

const tagNameClose: State = (t) => {
  t.isClose = false;
  t.emit('TAG_NAME_CLOSE', t.pos, 1);
  t.pos++;
  t.state = t.pos < t.s.length ? data : atEof;
  return true;
};

const tagName: State = (t) => {
  const s = t.s;
  for (let i = t.pos; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\0') continue; // old browsers ignore NULs in tag names
    if (isWhite(c)) {
      t.emit('TAG_NAME_OPEN', t.pos, i - t.pos);
      t.pos = i + 1;
      t.state = beforeAttributeName;
      return true;
    }
    if (c === '/') {
      t.emit('TAG_NAME_OPEN', t.pos, i - t.pos);
      t.pos = i + 1;
      t.state = selfClosingStartTag;
      return true;
    }
    if (c === '>') {
      t.emit(t.isClose ? 'TAG_CLOSE' : 'TAG_NAME_OPEN', t.pos, i - t.pos);
      if (t.isClose) {
        t.pos = i + 1;
        t.isClose = false;
        t.state = data;
      } else {
        t.pos = i;
        t.state = tagNameClose;
      }
      return true;
    }
  }
  t.emit('TAG_NAME_OPEN', t.pos, s.length - t.pos);
  t.state = atEof;
  return true;
};

const beforeAttributeName: State = (t) => {
  const c = t.skipWhite();
  if (c === EOF) return false;
  if (c === 0x2f /* / */) {
    t.pos++;
    return selfClosingStartTag(t);
  }
  if (c === 0x3e /* > */) {
    t.state = data;
    t.emit('TAG_NAME_CLOSE', t.pos, 1);
    t.pos++;
    return true;
  }
  return attributeName(t);
};

const attributeName: State = (t) => {
  const s = t.s;
  // The first char belongs to the name whatever it is (even `=` or `/`).
  for (let i = t.pos + 1; i < s.length; i++) {
    const c = s[i]!;
    const next: State | undefined = isWhite(c)
      ? afterAttributeName
      : c === '/'
        ? selfClosingStartTag
        : c === '='
          ? beforeAttributeValue
          : c === '>'
            ? tagNameClose
            : undefined;
    if (next) {
      t.emit('ATTR_NAME', t.pos, i - t.pos);
      t.state = next;
      t.pos = c === '>' ? i : i + 1;
      return true;
    }
  }
  t.emit('ATTR_NAME', t.pos, s.length - t.pos);
  t.state = atEof;
  t.pos = s.length;
  return true;
};

const afterAttributeName: State = (t) => {
  const c = t.skipWhite();
  if (c === EOF) return false;
  if (c === 0x2f /* / */) {
    t.pos++;
    return selfClosingStartTag(t);
  }
  if (c === 0x3d /* = */) {
    t.pos++;
    return beforeAttributeValue(t);
  }
  if (c === 0x3e /* > */) return tagNameClose(t);
  return attributeName(t);
};

const beforeAttributeValue: State = (t) => {
  const c = t.skipWhite();
  if (c === EOF) {
    t.state = atEof;
    return false;
  }
  if (c === 0x22) return valueDoubleQuoted(t);
  if (c === 0x27) return valueSingleQuoted(t);
  if (c === 0x60) return valueBackQuoted(t); // IE accepts backquotes
  return valueUnquoted(t);
};

function quotedValue(t: Html5Tokenizer, quote: string): boolean {
  // Skip the opening quote, unless the input itself starts inside the value (then `'><foo` gives an empty value).
  if (t.pos > 0) t.pos++;
  const end = t.s.indexOf(quote, t.pos);
  if (end === -1) {
    t.emit('ATTR_VALUE', t.pos, t.s.length - t.pos);
    t.state = atEof;
  } else {
    t.emit('ATTR_VALUE', t.pos, end - t.pos);
    t.state = afterQuotedValue;
    t.pos += t.tokenLen + 1;
  }
  return true;
}

const valueDoubleQuoted: State = (t) => quotedValue(t, '"');
const valueSingleQuoted: State = (t) => quotedValue(t, "'");
const valueBackQuoted: State = (t) => quotedValue(t, '`');

const valueUnquoted: State = (t) => {
  const s = t.s;
  for (let i = t.pos; i < s.length; i++) {
    const c = s[i]!;
    if (isWhite(c)) {
      t.emit('ATTR_VALUE', t.pos, i - t.pos);
      t.pos = i + 1;
      t.state = beforeAttributeName;
      return true;
    }
    if (c === '>') {
      t.emit('ATTR_VALUE', t.pos, i - t.pos);
      t.pos = i;
      t.state = tagNameClose;
      return true;
    }
  }
  t.state = atEof;
  t.emit('ATTR_VALUE', t.pos, s.length - t.pos);
  return true;
};

const afterQuotedValue: State = (t) => {
  if (t.pos >= t.s.length) return false;
  const c = t.s[t.pos]!;
  if (isWhite(c)) {
    t.pos++;
    return beforeAttributeName(t);
  }
  if (c === '/') {
    t.pos++;
    return selfClosingStartTag(t);
  }
  if (c === '>') {
    t.emit('TAG_NAME_CLOSE', t.pos, 1);
    t.pos++;
    t.state = data;
    return true;
  }
  return beforeAttributeName(t);
};

const selfClosingStartTag: State = (t) => {
  if (t.pos >= t.s.length) return false;
  if (t.s[t.pos] === '>') {
    t.emit('TAG_NAME_SELFCLOSE', t.pos - 1, 2);
    t.state = data;
    t.pos++;
    return true;
  }
  return beforeAttributeName(t);
};

/** Up to the next `>`. */
const bogusComment: State = (t) => {
  const gt = t.s.indexOf('>', t.pos);
  if (gt === -1) {
    t.emit('TAG_COMMENT', t.pos, t.s.length - t.pos);
    t.pos = t.s.length;
    t.state = atEof;
  } else {
    t.emit('TAG_COMMENT', t.pos, gt - t.pos);
    t.pos = gt + 1;
    t.state = data;
  }
  return true;
};

/** Up to the next `%>`. */
const percentComment: State = (t) => {
  const s = t.s;
  let from = t.pos;
  for (;;) {
    const pct = s.indexOf('%', from);
    if (pct === -1 || pct + 1 >= s.length) {
      t.emit('TAG_COMMENT', t.pos, s.length - t.pos);
      t.pos = s.length;
      t.state = atEof;
      return true;
    }
    if (s[pct + 1] !== '>') {
      from = pct + 1;
      continue;
    }
    t.emit('TAG_COMMENT', t.pos, pct - t.pos);
    t.pos = pct + 2;
    t.state = data;
    return true;
  }
};

const markupDeclarationOpen: State = (t) => {
  const s = t.s;
  const rest = s.length - t.pos;
  if (rest >= 7 && s.substr(t.pos, 7).toUpperCase() === 'DOCTYPE') {
    return doctype(t);
  }
  if (rest >= 7 && s.substr(t.pos, 7) === '[CDATA[') {
    t.pos += 7;
    return cdata(t);
  }
  if (rest >= 2 && s[t.pos] === '-' && s[t.pos + 1] === '-') {
    t.pos += 2;
    return comment(t);
  }
  return bogusComment(t);
};

/** `<!-- ... -->`, also ended by `--!>` and `-!>`, NULs between the dashes ignored. */
const comment: State = (t) => {
  const s = t.s;
  const toEnd = (): true => {
    t.state = atEof;
    return t.emit('TAG_COMMENT', t.pos, s.length - t.pos);
  };
  let from = t.pos;
  for (;;) {
    const dash = s.indexOf('-', from);
    if (dash === -1 || dash > s.length - 3) return toEnd();
    let at = dash + 1;
    while (at < s.length && s[at] === '\0') at++;
    if (at === s.length) return toEnd();
    if (s[at] !== '-' && s[at] !== '!') {
      from = dash + 1;
      continue;
    }
    at++;
    if (at === s.length) return toEnd();
    if (s[at] !== '>') {
      from = dash + 1;
      continue;
    }
    t.emit('TAG_COMMENT', t.pos, dash - t.pos);
    t.pos = at + 1;
    t.state = data;
    return true;
  }
};

const cdata: State = (t) => {
  const s = t.s;
  let from = t.pos;
  for (;;) {
    const rb = s.indexOf(']', from);
    if (rb === -1 || rb > s.length - 3) {
      t.state = atEof;
      return t.emit('DATA_TEXT', t.pos, s.length - t.pos);
    }
    if (s[rb + 1] === ']' && s[rb + 2] === '>') {
      t.state = data;
      t.emit('DATA_TEXT', t.pos, rb - t.pos);
      t.pos = rb + 3;
      return true;
    }
    from = rb + 1;
  }
};

const doctype: State = (t) => {
  const gt = t.s.indexOf('>', t.pos);
  if (gt === -1) {
    t.state = atEof;
    return t.emit('DOCTYPE', t.pos, t.s.length - t.pos);
  }
  t.state = data;
  t.emit('DOCTYPE', t.pos, gt - t.pos);
  t.pos = gt + 1;
  return true;
};

const START_STATES: Record<Html5Start, State> = {
  data,
  'value-unquoted': beforeAttributeName,
  'value-single-quote': valueSingleQuoted,
  'value-double-quote': valueDoubleQuoted,
  'value-back-quote': valueBackQuoted,
};
