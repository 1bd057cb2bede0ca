/**
 * `%{TX.score}`, `%{MATCHED_VAR}`, `%{request_headers.host}`: compiled once at load into literal and reference
 * parts, expanded per transaction. Names are case-insensitive, as in ModSecurity; the rules rely on it.
 */

export interface MacroRef {
  /** Upper-cased variable, e.g. `TX`, `MATCHED_VAR`. */
  readonly variable: string;
  /** Lower-cased key for collections, e.g. `score`. */
  readonly key?: string;
}

export type Template = string | readonly (string | MacroRef)[];

/** Anything that can answer a macro reference; the transaction implements it. */
export interface MacroSource {
  macroValue(ref: MacroRef): string | undefined;
}

export function compileTemplate(text: string): Template {
  if (!text.includes('%{')) return text;
  const parts: (string | MacroRef)[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('%{', i);
    if (start < 0) {
      parts.push(text.slice(i));
      break;
    }
    const end = text.indexOf('}', start + 2);
    if (end < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (start > i) parts.push(text.slice(i, start));
    const body = text.slice(start + 2, end);
    const dot = body.search(/[.:]/);
    parts.push(
      dot < 0
        ? { variable: body.toUpperCase() }
        : { variable: body.slice(0, dot).toUpperCase(), key: body.slice(dot + 1).toLowerCase() },
    );
    i = end + 1;
  }
  return parts;
}

export function isConstant(t: Template): t is string {
  return typeof t === 'string';
}

export function expand(t: Template, source: MacroSource): string {
  if (typeof t === 'string') return t;
  let out = '';
  for (const part of t) out += typeof part === 'string' ? part : (source.macroValue(part) ?? '');
  return out;
}
