/**
 * Cross-site scripting detection in libinjection's manner: tokenize the input as HTML from five starting points (text,
 * and inside an unquoted, single-, double- or back-quoted attribute value) and flag anything that would run script
 * or load content: dangerous tags, event-handler and URL attributes whose value is a script URL, style, doctype and
 * comment tricks. It looks for capability, not for the word "script".
 */
import { Html5Tokenizer, type Html5Start } from './html5.js';

export { Html5Tokenizer, type Html5Start, type Html5TokenType } from './html5.js';

const STARTS: readonly Html5Start[] = [
  'data',
  'value-unquoted',
  'value-single-quote',
  'value-double-quote',
  'value-back-quote',
];

/** What an attribute's value means for script execution. */
type AttributeRisk = 'none' | 'black' | 'url' | 'style' | 'indirect';

const BLACK_TAGS = [
  'APPLET',
  'BASE',
  'COMMENT',
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER',
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
];

const RISKY_ATTRIBUTES: ReadonlyMap<string, AttributeRisk> = new Map<string, AttributeRisk>([
  ['ACTION', 'url'],
  ['ATTRIBUTENAME', 'indirect'], // SVG animation names the attribute it sets
  ['BY', 'url'],
  ['BACKGROUND', 'url'],
  ['DATAFORMATAS', 'black'],
  ['DATASRC', 'black'],
  ['DYNSRC', 'url'],
  ['FILTER', 'style'],
  ['FORMACTION', 'url'],
  ['FOLDER', 'url'],
  ['FROM', 'url'],
  ['HANDLER', 'url'],
  ['HREF', 'url'],
  ['LOWSRC', 'url'],
  ['POSTER', 'url'],
  ['SRC', 'url'],
  ['STYLE', 'style'],
  ['TO', 'url'],
  ['VALUES', 'url'],
  ['XLINK:HREF', 'url'],
]);

/** Upper-cases ASCII and drops NULs, which browsers ignore inside names. */
function normalizeName(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) continue;
    out += c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : s[i];
  }
  return out;
}

function isBlackTag(name: string): boolean {
  if (name.length < 3) return false;
  const upper = normalizeName(name);
  if (BLACK_TAGS.includes(upper)) return true;
  // Anything SVG or XSL(T): checked on the raw first three bytes.
  const head = name.slice(0, 3).toUpperCase();
  return head === 'SVG' || head === 'XSL';
}

function attributeRisk(name: string): AttributeRisk {
  if (name.length < 2) return 'none';
  if (name.length >= 5) {
    // on* event handlers; xmlns and xlink can define arbitrary tags and links.
    const c0 = name[0]!;
    const c1 = name[1]!;
    if ((c0 === 'o' || c0 === 'O') && (c1 === 'n' || c1 === 'N')) return 'black';
    const head = normalizeName(name.slice(0, 5));
    if (head === 'XMLNS' || head === 'XLINK') return 'black';
  }
  return RISKY_ATTRIBUTES.get(normalizeName(name)) ?? 'none';
}

/** Decodes one HTML character reference at `i` (`&#65;`, `&#x41;`), or returns the byte; `[code, consumed]`. */
function decodeCharAt(s: string, i: number, end: number): [number, number] {
  const len = end - i;
  if (s[i] !== '&' || len < 2) return [s.charCodeAt(i), 1];
  if (s[i + 1] !== '#') return [0x26, 1];
  const hex = s[i + 2] === 'x' || s[i + 2] === 'X';
  const base = hex ? 16 : 10;
  let j = i + (hex ? 3 : 2);
  const first = j < end ? digitValue(s.charCodeAt(j), base) : -1;
  if (first < 0) return [0x26, 1];
  let value = first;
  for (j++; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x3b /* ; */) return [value, j + 1 - i];
    const d = digitValue(c, base);
    if (d < 0) return [value, j - i];
    value = value * base + d;
    if (value > 0x1000ff) return [0x26, 1];
  }
  return [value, j - i];
}

function digitValue(c: number, base: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (base === 16) {
    if (c >= 97 && c <= 102) return c - 87;
    if (c >= 65 && c <= 70) return c - 55;
  }
  return -1;
}

/** Does the (HTML-entity-encoded) value start with `prefix`, ignoring leading controls, NULs and LFs? */
function startsWithEncoded(prefix: string, s: string, from: number, end: number): boolean {
  let matched = 0;
  let first = true;
  let i = from;
  while (i < end) {
    if (matched === prefix.length) return true;
    const [code, used] = decodeCharAt(s, i, end);
    i += used;
    if (first && code <= 32) continue;
    first = false;
    if (code === 0 || code === 10) continue;
    const upper = code >= 97 && code <= 122 ? code - 32 : code;
    // Compared as a byte: a reference above 255 keeps only its low byte, as libinjection's char cast does.
    if (prefix.charCodeAt(matched) !== (upper & 0xff)) return false;
    matched++;
  }
  return matched === prefix.length;
}

const SCRIPT_URL_PREFIXES = ['DATA', 'VIEW-SOURCE', 'JAVA', 'VBSCRIPT'];

function isScriptUrl(s: string): boolean {
  let i = 0;
  // Skip white space, controls and non-ASCII bytes (some browsers skip UTF-8 spaces).
  while (i < s.length && (s.charCodeAt(i) <= 32 || s.charCodeAt(i) >= 127)) i++;
  return SCRIPT_URL_PREFIXES.some((p) => startsWithEncoded(p, s, i, s.length));
}

function isRiskyComment(text: string): boolean {
  if (text.includes('`')) return true; // IE ends tags at a backquote
  if (text.length > 3) {
    const head = text.slice(0, 3).toUpperCase();
    if (head === '[IF' || head === 'XML') return true; // IE conditional comments, XML islands
  }
  if (text.length > 5) {
    const head = normalizeName(text.slice(0, 6));
    // `<?import` (IE) and XML entity definitions; NULs ignored as browsers do.
    if (head === 'IMPORT' || head === 'ENTITY') return true;
  }
  return false;
}

function isXssFrom(input: string, start: Html5Start): boolean {
  const h = new Html5Tokenizer(input, start);
  let risk: AttributeRisk = 'none';
  while (h.next()) {
    if (h.tokenType !== 'ATTR_VALUE') risk = 'none';
    switch (h.tokenType) {
      case 'DOCTYPE':
        return true;
      case 'TAG_NAME_OPEN':
        if (isBlackTag(h.token)) return true;
        break;
      case 'ATTR_NAME':
        risk = attributeRisk(h.token);
        break;
      case 'ATTR_VALUE':
        if (risk === 'black' || risk === 'style') return true;
        if (risk === 'url' && isScriptUrl(h.token)) return true;
        if (risk === 'indirect' && attributeRisk(h.token) !== 'none') return true;
        risk = 'none';
        break;
      case 'TAG_COMMENT':
        if (isRiskyComment(h.token)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

/** libinjection's verdict on `input` (a byte string): true when it could inject script into HTML. */
export function detectXss(input: string): boolean {
  return STARTS.some((start) => isXssFrom(input, start));
}
