/**
 * Decoding transformations, with ModSecurity's semantics: invalid escapes are left as they are, and a code point
 * above 0xFF keeps its low byte (full-width ASCII, U+FF01..U+FF5E, becomes the ASCII character instead).
 */

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function isHex(s: string, i: number): boolean {
  return i < s.length && hexVal(s.charCodeAt(i)) >= 0;
}

function hexAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 16 + hexVal(s.charCodeAt(i + k));
  return v;
}

/** A code point wider than a byte, folded the way ModSecurity folds `%uHHHH`. */
export function narrow(cp: number): number {
  if (cp >= 0xff01 && cp <= 0xff5e) return cp - 0xfee0;
  return cp & 0xff;
}

function decodeUrl(s: string, unicode: boolean): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  // Byte strings decode into a byte buffer: one pass, no string built a character at a time.
  const out = Buffer.allocUnsafe(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return decodeUrlWide(s, unicode);
    if (c === 43) {
      out[n++] = 32;
    } else if (c === 37) {
      if (unicode && (s[i + 1] === 'u' || s[i + 1] === 'U') && isHex4(s, i + 2)) {
        out[n++] = narrow(hexAt(s, i + 2, 4));
        i += 5;
      } else if (isHex(s, i + 1) && isHex(s, i + 2)) {
        out[n++] = hexAt(s, i + 1, 2);
        i += 2;
      } else out[n++] = c;
    } else out[n++] = c;
  }
  return out.toString('latin1', 0, n);
}

/** The same for a string holding characters above 0xFF (not a byte string): kept as they are. */
function decodeUrlWide(s: string, unicode: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '+') {
      out += ' ';
    } else if (c === '%') {
      if (unicode && (s[i + 1] === 'u' || s[i + 1] === 'U') && isHex4(s, i + 2)) {
        out += String.fromCharCode(narrow(hexAt(s, i + 2, 4)));
        i += 5;
      } else if (isHex(s, i + 1) && isHex(s, i + 2)) {
        out += String.fromCharCode(hexAt(s, i + 1, 2));
        i += 2;
      } else out += c;
    } else out += c;
  }
  return out;
}

function isHex4(s: string, i: number): boolean {
  return isHex(s, i) && isHex(s, i + 1) && isHex(s, i + 2) && isHex(s, i + 3);
}

export const urlDecode = (s: string): string => decodeUrl(s, false);
export const urlDecodeUni = (s: string): string => decodeUrl(s, true);

export function hexDecode(s: string): string {
  let out = '';
  for (let i = 0; i + 1 < s.length; i += 2) {
    if (!isHex(s, i) || !isHex(s, i + 1)) return out;
    out += String.fromCharCode(hexAt(s, i, 2));
  }
  return out;
}

/** `0x414243` inside SQL becomes `ABC`. */
export function sqlHexDecode(s: string): string {
  if (!/0x/i.test(s)) return s;
  return s.replace(/0x((?:[0-9a-fA-F]{2})+)/gi, (_, hex: string) => hexDecode(hex));
}

/** What an escape at a backslash stands for: one character code, and how many chars after the backslash it used. */
interface Escape {
  code: number;
  used: number;
}

/** Fills `e` and says true when the backslash at `at` starts an escape; false keeps the backslash as it is. */
type EscapeDecoder = (s: string, at: number, e: Escape) => boolean;

function found(e: Escape, code: number, used: number): true {
  e.code = code;
  e.used = used;
  return true;
}

/**
 * Walks `s`, decoding at each backslash. Byte strings, the usual case, decode into a byte buffer (an escape never
 * makes the text longer): a value of 64 KiB of backslashes used to be rebuilt one appended character at a time.
 */
function decodeEscapes(s: string, decode: EscapeDecoder): string {
  if (!s.includes('\\')) return s;
  const out = Buffer.allocUnsafe(s.length);
  const e: Escape = { code: 0, used: 0 };
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 && i + 1 < s.length && decode(s, i, e)) {
      if (e.code > 0xff) return decodeEscapesWide(s, decode);
      out[n++] = e.code;
      i += e.used;
    } else if (c > 0xff) return decodeEscapesWide(s, decode);
    else out[n++] = c;
  }
  return out.toString('latin1', 0, n);
}

/** The same for a string holding characters above 0xFF (not a byte string). */
function decodeEscapesWide(s: string, decode: EscapeDecoder): string {
  const e: Escape = { code: 0, used: 0 };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length && decode(s, i, e)) {
      out += String.fromCharCode(e.code);
      i += e.used;
    } else out += c;
  }
  return out;
}

/** `\xHH` at `at`. */
function hexEscape(s: string, at: number, e: Escape): boolean {
  const n = s[at + 1];
  return (n === 'x' || n === 'X') && isHex(s, at + 2) && isHex(s, at + 3) && found(e, hexAt(s, at + 2, 2), 3);
}

/** `\O`, `\OO`, `\OOO` at `at`; JavaScript stops before the value passes 0xFF, C keeps the low byte. */
function octalEscape(s: string, at: number, stopAtByte: boolean, e: Escape): boolean {
  if (!(s[at + 1]! >= '0' && s[at + 1]! <= '7')) return false;
  let j = at + 1;
  let v = 0;
  while (j < s.length && j < at + 4 && s[j]! >= '0' && s[j]! <= '7') {
    const next = v * 8 + (s.charCodeAt(j) - 48);
    if (stopAtByte && next > 0xff) break;
    v = next;
    j++;
  }
  return found(e, v & 0xff, j - 1 - at);
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

/** JavaScript escapes: \xHH, \uHHHH, octal \OOO, the single-letter escapes, and `\c` meaning `c`. */
export function jsDecode(s: string): string {
  return decodeEscapes(s, (str, at, e) => {
    const n = str[at + 1]!;
    if ((n === 'u' || n === 'U') && isHex4(str, at + 2)) return found(e, narrow(hexAt(str, at + 2, 4)), 5);
    return hexEscape(str, at, e) || octalEscape(str, at, true, e) || found(e, SIMPLE_ESCAPES[n] ?? n.charCodeAt(0), 1);
  });
}

/** ANSI C escapes (\a \b \f \n \r \t \v \\ \? \' \" \xHH \OOO); unknown escapes keep their backslash. */
export function escapeSeqDecode(s: string): string {
  return decodeEscapes(s, (str, at, e) => {
    const n = str[at + 1]!;
    const simple = SIMPLE_ESCAPES[n];
    if (simple !== undefined) return found(e, simple, 1);
    if (n === '\\' || n === '?' || n === "'" || n === '"') return found(e, n.charCodeAt(0), 1);
    return hexEscape(str, at, e) || octalEscape(str, at, false, e);
  });
}

/** CSS 2.1 escapes: `\` + 1-6 hex digits (one following whitespace eaten), `\` + newline removed, else the char. */
export function cssDecode(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= s.length) break; // a trailing backslash is dropped
    let j = i + 1;
    while (j < s.length && j < i + 7 && isHex(s, j)) j++;
    if (j > i + 1) {
      const hex = s.slice(i + 1, j);
      // ModSecurity keeps the low byte, and maps full-width ASCII when the escape names U+FF01..U+FF5E.
      out += String.fromCharCode(narrow(parseInt(hex, 16)));
      if (s[j] === ' ' || s[j] === '\t' || s[j] === '\n' || s[j] === '\r' || s[j] === '\f') j++;
      i = j - 1;
    } else if (s[i + 1] === '\n') {
      i++;
    } else {
      out += s[i + 1];
      i++;
    }
  }
  return out;
}

const ENTITIES: Readonly<Record<string, number>> = { quot: 34, amp: 38, lt: 60, gt: 62, nbsp: 160 };

/** `&#DDD;`, `&#xHH;` (the semicolon optional) and the entities ModSecurity knows; others stay as they are. */
export function htmlEntityDecode(s: string): string {
  if (!s.includes('&')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '&') {
      out += c;
      continue;
    }
    if (s[i + 1] === '#') {
      const hex = s[i + 2] === 'x' || s[i + 2] === 'X';
      let j = i + (hex ? 3 : 2);
      const start = j;
      while (j < s.length && (hex ? isHex(s, j) : s[j]! >= '0' && s[j]! <= '9')) j++;
      if (j > start) {
        const cp = parseInt(s.slice(start, j), hex ? 16 : 10);
        out += String.fromCharCode(narrow(Math.min(cp, 0x10ffff)));
        i = s[j] === ';' ? j : j - 1;
        continue;
      }
      out += c;
      continue;
    }
    let j = i + 1;
    while (j < s.length && j < i + 8 && /[A-Za-z]/.test(s[j]!)) j++;
    const name = s.slice(i + 1, j).toLowerCase();
    const code = ENTITIES[name];
    if (code !== undefined && j > i + 1) {
      out += String.fromCharCode(code);
      i = s[j] === ';' ? j : j - 1;
    } else out += c;
  }
  return out;
}

/** Valid multi-byte UTF-8 sequences become `%uHHHH` (lower-case hex); everything else stays. */
export function utf8toUnicode(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n && s.charCodeAt(i) < 0x80) i++;
  if (i === n) return s;
  let out = s.slice(0, i);
  while (i < n) {
    const c = s.charCodeAt(i);
    let need = 0;
    let cp = 0;
    if (c >= 0xc2 && c <= 0xdf) [need, cp] = [1, c & 0x1f];
    else if (c >= 0xe0 && c <= 0xef) [need, cp] = [2, c & 0x0f];
    else if (c >= 0xf0 && c <= 0xf4) [need, cp] = [3, c & 0x07];
    let ok = need > 0 && i + need <= n - 1;
    for (let k = 1; ok && k <= need; k++) {
      const cc = s.charCodeAt(i + k);
      if ((cc & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok) {
      out += '%u' + (cp > 0xffff ? cp.toString(16) : cp.toString(16).padStart(4, '0'));
      i += need + 1;
    } else {
      out += s[i];
      i++;
    }
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

function base64(s: string, skipInvalid: boolean): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61) break; // '=' padding ends the data
    const v = c < 256 ? B64_VALUE[c]! : -1;
    if (v < 0) {
      if (skipInvalid) continue;
      break;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

export const base64Decode = (s: string): string => base64(s, false);
export const base64DecodeExt = (s: string): string => base64(s, true);
