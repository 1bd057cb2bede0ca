/**
 * multipart/form-data, parsed strictly the way ModSecurity does: anything unusual raises a MULTIPART_* flag that
 * rules can refuse on, rather than being quietly repaired (each repair is a way to smuggle a payload past a WAF).
 * Lenient where refusing would hide data from the rules: odd header bytes are kept for the rules to see.
 */
import type { BodyError, BodyLimits, MultipartFile, ParsedMultipart } from './types.js';

const FLAG_NAMES = [
  'MULTIPART_BOUNDARY_QUOTED',
  'MULTIPART_BOUNDARY_WHITESPACE',
  'MULTIPART_DATA_BEFORE',
  'MULTIPART_DATA_AFTER',
  'MULTIPART_HEADER_FOLDING',
  'MULTIPART_LF_LINE',
  'MULTIPART_CRLF_LF_LINES',
  'MULTIPART_MISSING_SEMICOLON',
  'MULTIPART_INVALID_QUOTING',
  'MULTIPART_INVALID_PART',
  'MULTIPART_INVALID_HEADER_FOLDING',
  'MULTIPART_FILE_LIMIT_EXCEEDED',
  'MULTIPART_UNMATCHED_BOUNDARY',
] as const;

type Flag = (typeof FLAG_NAMES)[number];

/** RFC 2046 boundary characters. */
const BOUNDARY_CHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/;

export function parseMultipart(input: string, contentType: string, limits: BodyLimits): ParsedMultipart {
  const flags = Object.fromEntries(FLAG_NAMES.map((f) => [f, 0])) as Record<Flag, 0 | 1>;
  const args: [string, string][] = [];
  const files: MultipartFile[] = [];
  const partHeaders: [string, string][] = [];
  let error: BodyError | undefined;
  const done = (): ParsedMultipart => {
    const strict = FLAG_NAMES.some((f) => flags[f] === 1 && f !== 'MULTIPART_CRLF_LF_LINES') || error !== undefined;
    return {
      args,
      files,
      partHeaders,
      flags: { ...flags, MULTIPART_STRICT_ERROR: strict ? 1 : 0 },
      ...(error ? { error } : {}),
    };
  };
  const fail = (code: string, message: string): ParsedMultipart => {
    error ??= { code, message: `Multipart: ${message}` };
    return done();
  };

  const m = /boundary(\s*)=(\s*)("?)([^";,]*)("?)/i.exec(contentType);
  if (!m) return fail('no_boundary', 'Boundary not found in C-T.');
  if (m[1] || m[2] || /\s$/.test(m[4]!)) flags.MULTIPART_BOUNDARY_WHITESPACE = 1;
  if (m[3] || m[5]) flags.MULTIPART_BOUNDARY_QUOTED = 1;
  if (m[3] !== m[5]) return fail('boundary_quoting', 'Invalid boundary in C-T (quote).');
  const boundary = m[4]!.trim();
  if (!BOUNDARY_CHARS.test(boundary)) return fail('boundary_chars', 'Invalid boundary in C-T (characters).');

  const delimiter = `--${boundary}`;
  let pos = input.startsWith(delimiter) ? 0 : findDelimiter(input, delimiter, 0);
  if (pos < 0) return fail('no_boundary_in_body', 'Final boundary missing.');
  if (pos > 0) flags.MULTIPART_DATA_BEFORE = 1;
  let sawCrlf = false;
  let sawLf = false;
  for (;;) {
    let cursor = pos + delimiter.length;
    if (input.startsWith('--', cursor)) {
      const rest = input.slice(cursor + 2);
      if (rest.replace(/^[\r\n]+/, '').length > 0) flags.MULTIPART_DATA_AFTER = 1;
      break;
    }
    const eol = lineEnd(input, cursor);
    if (eol < 0) return fail('truncated', 'Final boundary missing.');
    if (input.slice(cursor, eol).replace(/[ \t]+$/, '') !== '') flags.MULTIPART_UNMATCHED_BOUNDARY = 1;
    cursor = skipEol(input, eol);
    // Part headers run to the first empty line.
    const headerLines: string[] = [];
    for (;;) {
      const e = lineEnd(input, cursor);
      if (e < 0) return fail('truncated_headers', 'Final boundary missing.');
      if (input[e] === '\n') sawLf = true;
      else sawCrlf = true;
      const line = input.slice(cursor, e);
      cursor = skipEol(input, e);
      if (line === '') break;
      if ((line[0] === ' ' || line[0] === '\t') && headerLines.length) {
        flags.MULTIPART_HEADER_FOLDING = 1;
        headerLines[headerLines.length - 1] += ' ' + line.trim();
      } else if (line[0] === ' ' || line[0] === '\t') flags.MULTIPART_INVALID_HEADER_FOLDING = 1;
      else headerLines.push(line);
    }
    const next = findDelimiter(input, delimiter, cursor);
    if (next < 0) return fail('no_final_boundary', 'Final boundary missing.');
    let bodyEnd = next;
    if (input[bodyEnd - 1] === '\n') {
      bodyEnd--;
      if (input[bodyEnd - 1] === '\r') {
        bodyEnd--;
        sawCrlf = true;
      } else sawLf = true;
    }
    const value = input.slice(cursor, bodyEnd);
    const part = describePart(headerLines, flags);
    if (typeof part === 'string') {
      flags.MULTIPART_INVALID_PART = 1;
      error ??= { code: 'invalid_part', message: `Multipart: ${part}` };
    } else {
      for (const line of headerLines) partHeaders.push([part.name, line]);
      if (part.filename !== undefined) {
        files.push({ name: part.name, filename: part.filename, size: value.length, contentType: part.contentType });
      } else {
        if (args.length >= limits.maxArgs) return fail('too_many_args', 'Exceeded argument count limit.');
        args.push([part.name, value]);
      }
    }
    pos = next;
  }
  if (sawLf) flags.MULTIPART_LF_LINE = 1;
  if (sawLf && sawCrlf) flags.MULTIPART_CRLF_LF_LINES = 1;
  return done();
}

/** The next delimiter that starts a line. */
function findDelimiter(input: string, delimiter: string, from: number): number {
  for (let i = input.indexOf(delimiter, from); i >= 0; i = input.indexOf(delimiter, i + 1)) {
    if (i === 0 || input[i - 1] === '\n') return i;
  }
  return -1;
}

function lineEnd(input: string, from: number): number {
  const nl = input.indexOf('\n', from);
  if (nl < 0) return -1;
  return input[nl - 1] === '\r' && nl - 1 >= from ? nl - 1 : nl;
}

function skipEol(input: string, eol: number): number {
  return input[eol] === '\r' ? eol + 2 : eol + 1;
}

interface PartInfo {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
}

function describePart(headerLines: readonly string[], flags: Record<Flag, 0 | 1>): PartInfo | string {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'Invalid part header (colon missing).';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') {
      if (disposition !== undefined) return 'Duplicate Content-Disposition header.';
      disposition = value;
    } else if (name === 'content-type') contentType = value;
  }
  if (disposition === undefined) return 'Part missing Content-Disposition header.';
  const m = /^form-data\s*(;?)(.*)$/is.exec(disposition);
  if (!m) return 'Invalid Content-Disposition header (not form-data).';
  if (m[2]!.trim() !== '' && m[1] === '') flags.MULTIPART_MISSING_SEMICOLON = 1;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z*]+)\s*=\s*("((?:[^"\\]|\\.)*)"|'[^']*'|[^;\s]*)\s*;?/gy;
  const rest = m[2]!;
  let p: RegExpExecArray | null;
  let consumed = 0;
  while ((p = re.exec(rest)) !== null && p[0] !== '') {
    consumed = re.lastIndex;
    const raw = p[2]!;
    let value: string;
    if (raw.startsWith('"'))
      value = p[3]!.replace(/\\(["\\])/g, '$1'); // only \" and \\ are escapes, as in ModSecurity
    else {
      if (raw.startsWith("'") || raw.includes('"')) flags.MULTIPART_INVALID_QUOTING = 1;
      value = raw;
    }
    params.set(p[1]!.toLowerCase(), value);
  }
  if (rest.slice(consumed).trim() !== '') flags.MULTIPART_INVALID_QUOTING = 1;
  const name = params.get('name');
  if (name === undefined) return 'Content-Disposition header missing name field.';
  const filename = params.get('filename') ?? params.get('filename*');
  return { name, ...(filename !== undefined ? { filename } : {}), ...(contentType ? { contentType } : {}) };
}
