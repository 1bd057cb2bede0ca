/** Request and response data into the variables rules read. Values stay byte strings throughout. */
import { parseJson, parseMultipart, parseUrlEncoded, parseXml, type BodyLimits } from '../bodies/index.js';
import { Collection } from './collections.js';
import type { BodyProcessor } from './rule.js';

export interface RequestInfo {
  readonly method: string;
  /** The request target exactly as received. */
  readonly uri: string;
  /** `HTTP/1.1`, `HTTP/2.0`. */
  readonly protocol: string;
  /** Header lines in arrival order, names as sent. */
  readonly headers: readonly (readonly [string, string])[];
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly serverAddress?: string;
  readonly serverPort?: number;
}

export interface ResponseInfo {
  readonly status: number;
  readonly protocol: string;
  readonly headers: readonly (readonly [string, string])[];
}

/** Decodes %XX only (no `+`), leaving bad escapes as they are: how ModSecurity v3 decodes the path. */
export function decodePercent(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export interface UriParts {
  /** Path and query, without any scheme and authority of an absolute-form target. */
  readonly uri: string;
  readonly path: string;
  readonly query: string | undefined;
}

export function splitUri(raw: string): UriParts {
  let uri = raw;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(raw);
  if (scheme) uri = raw.slice(scheme[0].length) || '/';
  const q = uri.indexOf('?');
  return q < 0 ? { uri, path: uri, query: undefined } : { uri, path: uri.slice(0, q), query: uri.slice(q + 1) };
}

/** Cookie header into REQUEST_COOKIES: `a=1; b=2`; a pair without `=` is a name with an empty value. */
export function addCookies(target: Collection, header: string): void {
  for (const part of header.split(';')) {
    const p = part.replace(/^[ \t]+/, '');
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) target.add(p, '');
    else target.add(p.slice(0, eq), p.slice(eq + 1));
  }
}

/** Which body processor a Content-Type selects. JSON and XML are on by default in Bulwark (see src/waf/README.md). */
export function processorFor(contentType: string | undefined): BodyProcessor | undefined {
  if (!contentType) return undefined;
  const mime = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mime === 'application/x-www-form-urlencoded') return 'URLENCODED';
  if (mime === 'multipart/form-data') return 'MULTIPART';
  if (mime === 'application/json' || mime.endsWith('+json')) return 'JSON';
  if (mime === 'application/xml' || mime === 'text/xml' || mime.endsWith('+xml')) return 'XML';
  return undefined;
}

export interface BodyOutcome {
  readonly args: Collection;
  readonly files?: Collection;
  readonly filesNames?: Collection;
  readonly filesSizes?: Collection;
  readonly filesCombinedSize?: number;
  readonly partHeaders?: Collection;
  readonly multipartFlags?: Readonly<Record<string, 0 | 1>>;
  readonly xml?: Collection;
  readonly error?: string;
}

export function processBody(
  processor: BodyProcessor,
  body: string,
  contentType: string,
  limits: BodyLimits,
): BodyOutcome {
  const args = new Collection();
  switch (processor) {
    case 'URLENCODED':
    case 'JSON': {
      const parsed = processor === 'URLENCODED' ? parseUrlEncoded(body, limits) : parseJson(body, limits);
      for (const [k, v] of parsed.args) args.add(k, v);
      return { args, error: parsed.error?.message };
    }
    case 'MULTIPART': {
      const parsed = parseMultipart(body, contentType, limits);
      for (const [k, v] of parsed.args) args.add(k, v);
      const files = new Collection();
      const filesNames = new Collection();
      const filesSizes = new Collection();
      let total = 0;
      for (const f of parsed.files) {
        files.add(f.name, f.filename);
        filesNames.add(f.name, f.name);
        filesSizes.add(f.name, String(f.size));
        total += f.size;
      }
      const partHeaders = new Collection();
      for (const [name, line] of parsed.partHeaders) partHeaders.add(name, line);
      return {
        args,
        files,
        filesNames,
        filesSizes,
        filesCombinedSize: total,
        partHeaders,
        multipartFlags: parsed.flags,
        error: parsed.error ? `Multipart parsing error: ${parsed.error.message}` : undefined,
      };
    }
    case 'XML': {
      const parsed = parseXml(body, limits);
      const xml = new Collection();
      xml.add('/*', parsed.rootText);
      for (const a of parsed.attributes) xml.add('//@*', a);
      for (const [k, v] of parsed.args) args.add(k, v);
      return { args, xml, error: parsed.error?.message };
    }
  }
}
