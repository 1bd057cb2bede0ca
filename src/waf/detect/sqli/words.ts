/** libinjection's SQL word list: case-insensitive lookups of keywords, functions and phrases (GROUP BY...). */
import { KEYWORD_TABLE } from './data.js';

const KEYWORDS = new Map<string, string>();
for (const line of KEYWORD_TABLE.split('\n')) {
  const tab = line.indexOf('\t');
  KEYWORDS.set(line.slice(0, tab), line.slice(tab + 1));
}

let longestKeyword = 0;
for (const k of KEYWORDS.keys()) longestKeyword = Math.max(longestKeyword, k.length);

/**
 * Each keyword's length and first two characters (upper-cased), as one number. Most words of an input, and most
 * pairs the folder tries to merge, are no keyword: this answers them without building, upper-casing and looking up
 * a string (a 64 KiB run of `-x` is 32,768 words and as many merge attempts).
 */
const SHAPES = new Set<number>();
for (const k of KEYWORDS.keys()) SHAPES.add(shape(k.length, k.charCodeAt(0), k.length > 1 ? k.charCodeAt(1) : 0));

function upperByte(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

function shape(length: number, c0: number, c1: number): number {
  return length * 0x10000 + (upperByte(c0) & 0xff) * 0x100 + (upperByte(c1) & 0xff);
}

/**
 * False when no keyword has this length and starts with these two characters (`c1`: 0 for a one-character word).
 * Characters above 0xFF are folded to their low byte here: a false "maybe" only costs the full lookup.
 */
export function mayBeWord(length: number, c0: number, c1: number): boolean {
  return length <= longestKeyword && SHAPES.has(shape(length, c0, c1));
}

/** Upper-cases ASCII letters only, as libinjection's comparisons do (bytes above 127 stay as they are). */
export function asciiUpper(s: string): string {
  let lower = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // toUpperCase also maps some letters above 127 (ÿ, µ, ß): those strings take the ASCII-only path.
    if (c >= 0x80) return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
    if (c >= 97 && c <= 122) lower = true;
  }
  return lower ? s.toUpperCase() : s;
}

/** Type of a SQL word or phrase, case-insensitively; '' when it is not one. */
export function lookupWord(word: string): string {
  const n = word.length;
  if (n === 0 || !mayBeWord(n, word.charCodeAt(0), n > 1 ? word.charCodeAt(1) : 0)) return '';
  return KEYWORDS.get(asciiUpper(word)) ?? '';
}
