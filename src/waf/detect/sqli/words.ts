/** libinjection's SQL word list: case-insensitive lookups of keywords, functions and phrases (GROUP BY...). */
import { KEYWORD_TABLE } from './data.js';

const KEYWORDS = new Map<string, string>();
for (const line of KEYWORD_TABLE.split('\n')) {
  const tab = line.indexOf('\t');
  KEYWORDS.set(line.slice(0, tab), line.slice(tab + 1));
}

let longestKeyword = 0;
for (const k of KEYWORDS.keys()) longestKeyword = Math.max(longestKeyword, k.length);

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
  if (word.length > longestKeyword) return '';
  return KEYWORDS.get(asciiUpper(word)) ?? '';
}
