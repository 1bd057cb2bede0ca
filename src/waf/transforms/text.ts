/** Case, whitespace, comment, command-line and path transformations, over byte strings. */

/** ModSecurity v3 treats C's isspace() set and the non-breaking space 0xA0 as whitespace. */
function isWhitespace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
}

export function lowercase(s: string): string {
  // Only ASCII letters change, as in ModSecurity; JS toLowerCase would also fold Latin-1 letters.
  if (!/[A-Z]/.test(s)) return s;
  return mapAsciiCase(s, 65, (c) => c.toLowerCase());
}

export function uppercase(s: string): string {
  if (!/[a-z]/.test(s)) return s;
  return mapAsciiCase(s, 97, (c) => c.toUpperCase());
}

/**
 * Case-maps ASCII letters only, in one pass whatever the input: a per-run regex replace calls back once per run of
 * letters, which costs milliseconds on 64 KiB of `%5C%5C...`.
 */
function mapAsciiCase(s: string, from: number, whole: (s: string) => string): string {
  if (!/[\u0080-\uffff]/.test(s)) return whole(s);
  if (/[\u0100-\uffff]/.test(s)) return s.replace(from === 65 ? /[A-Z]+/g : /[a-z]+/g, whole);
  const b = Buffer.from(s, 'latin1');
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c >= from && c < from + 26) b[i] = c ^ 0x20;
  }
  return b.toString('latin1');
}

export function removeNulls(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '') : s;
}

export function replaceNulls(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, ' ') : s;
}

export function removeWhitespace(s: string): string {
  return s.replace(/[\t-\r \xa0]+/g, '');
}

export function compressWhitespace(s: string): string {
  return s.replace(/[\t-\r \xa0]+/g, ' ');
}

export function trimLeft(s: string): string {
  let i = 0;
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

export function trimRight(s: string): string {
  let j = s.length;
  while (j > 0 && isWhitespace(s.charCodeAt(j - 1))) j--;
  return j === s.length ? s : s.slice(0, j);
}

export function trim(s: string): string {
  return trimRight(trimLeft(s));
}

/** C-style comments become one space; an unterminated one runs to the end. */
export function replaceComments(s: string): string {
  if (!s.includes('/*')) return s;
  let out = '';
  let i = 0;
  for (;;) {
    const start = s.indexOf('/*', i);
    if (start < 0) return out + s.slice(i);
    out += s.slice(i, start) + ' ';
    const end = s.indexOf('*/', start + 2);
    if (end < 0) return out;
    i = end + 2;
  }
}

/** Removes C comments, HTML comments, and `--` or `#` comments to the end of the value. */
export function removeComments(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('/*', i)) {
      const end = s.indexOf('*/', i + 2);
      if (end < 0) break;
      i = end + 2;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) break;
      i = end + 3;
    } else if (s.startsWith('--', i) || s[i] === '#') {
      break;
    } else out += s[i++];
  }
  return out;
}

/** Removes the comment markers themselves: `/*`, `*\/`, `<!--`, `-->`, `--`, `#`. */
export function removeCommentsChar(s: string): string {
  return s.replace(/\/\*|\*\/|<!--|-->|--|#/g, '');
}

/**
 * What a shell would see: quoting characters `\ " ' ^` removed, `,` and `;` and whitespace folded into one space,
 * spaces before `/` and `(` removed, letters lower-cased.
 */
export function cmdLine(s: string): string {
  let out = '';
  let space = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    switch (ch) {
      case '"':
      case "'":
      case '\\':
      case '^':
        break;
      case ' ':
      case ',':
      case ';':
      case '\t':
      case '\r':
      case '\n':
        if (!space) {
          out += ' ';
          space = true;
        }
        break;
      case '/':
      case '(':
        if (space) out = out.slice(0, -1);
        out += ch;
        space = false;
        break;
      default:
        out += ch >= 'A' && ch <= 'Z' ? ch.toLowerCase() : ch;
        space = false;
    }
  }
  return out;
}

/** Collapses `//`, removes `.` segments and resolves `..` (never above the root of an absolute path). */
export function normalizePath(s: string): string {
  if (s === '' || (!s.includes('//') && !s.includes('./') && !s.endsWith('/.') && !s.endsWith('/..') && s !== '.'))
    return s;
  const absolute = s.startsWith('/');
  const trailing = s.endsWith('/') || s.endsWith('/.') || s.endsWith('/..') || s === '.' || s === '..';
  const out: string[] = [];
  // Runs of slashes only make empty segments, which are skipped: collapse them first (64 KiB of `/` is one split).
  for (const seg of s.replace(/\/{2,}/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(seg);
  }
  let result = (absolute ? '/' : '') + out.join('/');
  if (trailing && out.length && !result.endsWith('/')) result += '/';
  return result;
}

export function normalizePathWin(s: string): string {
  return normalizePath(s.includes('\\') ? s.replace(/\\/g, '/') : s);
}

export function urlEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (c === 32) out += '+';
    else if (
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 42 ||
      c === 45 ||
      c === 46 ||
      c === 95
    )
      out += s[i];
    else out += '%' + c.toString(16).padStart(2, '0');
  }
  return out;
}
