/**
 * What HTTP asks of an intermediary that Node's parsers and undici leave to the application (docs/conformance.md):
 * request-target forms, transfer codings, Host against :authority, Via and loops, Max-Forwards. Pure functions;
 * each is reached only when its field or form is present, so the plain request path pays nothing for them.
 */

/** host or [IPv6], optional port. Percent-escapes, controls, spaces, userinfo and raw non-ASCII are refused. */
export const VALID_HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** An absolute-form target split into the authority that replaces Host and the target sent on, unchanged. */
export interface AbsoluteTarget {
  readonly authority: string;
  /** The path and query exactly as received ("/" when the URI has no path); "*" for OPTIONS with neither. */
  readonly target: string;
}

function schemeEnd(target: string): number {
  // http:// or https://, any case: the only schemes a gateway for HTTP origins can serve.
  const lower = target.slice(0, 8).toLowerCase();
  if (lower.startsWith('http://')) return 7;
  if (lower.startsWith('https://')) return 8;
  return -1;
}

/**
 * RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host. The path and query go on as received
 * (RFC 9110 §7.7: a proxy must not rewrite them), so this splits by hand rather than through URL, which resolves
 * dot segments and re-encodes. Undefined when the target is not an http(s) URI with a valid host and no userinfo.
 */
export function parseAbsoluteTarget(target: string, method: string): AbsoluteTarget | undefined {
  const start = schemeEnd(target);
  if (start < 0) return undefined;
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 47 || c === 63) break; // '/' or '?'
    end++;
  }
  const authority = target.slice(start, end);
  // Empty hosts are invalid for http(s) (RFC 9110 §4.2.1); userinfo is an error (§4.2.4), refused by VALID_HOST.
  if (!VALID_HOST.test(authority)) return undefined;
  const rest = target.slice(end);
  // RFC 9112 §3.2.4: OPTIONS for a URI with neither path nor query becomes the asterisk-form at the last proxy.
  if (rest === '') return { authority, target: method === 'OPTIONS' ? '*' : '/' };
  return { authority, target: rest.charCodeAt(0) === 63 ? `/${rest}` : rest };
}

/** A refusal decided from the request head: status, error code, detail. */
export type Refusal = readonly [number, 'BWK_ERR_BAD_REQUEST' | 'BWK_ERR_TRANSFER_CODING', string];

/**
 * RFC 9112 §6.1 and §6.3: Transfer-Encoding in an HTTP/1.0 request means faulty framing, and so does a request
 * whose final coding is not chunked (its length cannot be known): 400. Chunked after other codings is framed well
 * but carries a coding the gateway does not decode (501); forwarding the body without naming it would change it.
 */
export function transferCodingRefusal(value: string, httpVersionMinor: number): Refusal | undefined {
  if (httpVersionMinor === 0) return [400, 'BWK_ERR_BAD_REQUEST', 'Transfer-Encoding is not defined in HTTP/1.0.'];
  const codings = value.toLowerCase();
  if (codings.trim() === 'chunked') return undefined;
  const last = codings.slice(codings.lastIndexOf(',') + 1).trim();
  if (last !== 'chunked') return [400, 'BWK_ERR_BAD_REQUEST', 'The request body must end with the chunked coding.'];
  return [501, 'BWK_ERR_TRANSFER_CODING', 'Only the chunked transfer coding is supported.'];
}

/** Host and port after scheme-based normalisation (RFC 3986 §6.2.3): lower case, the scheme's default port dropped. */
function normalisedAuthority(authority: string, tls: boolean): string {
  const lower = authority.toLowerCase();
  const colon = lower.lastIndexOf(':');
  if (colon < 0 || lower.endsWith(']')) return lower;
  const port = lower.slice(colon + 1);
  if (port === '' || port === (tls ? '443' : '80')) return lower.slice(0, colon);
  return lower;
}

/**
 * RFC 9113 §8.3.1: a Host that names another entity than :authority makes an HTTP/2 request malformed (a SHOULD
 * for servers, taken here: routing reads :authority while an origin might read Host). RFC 9110 §7.2: more than one
 * Host, or an invalid one, is a 400 in any version.
 */
export function h2AuthorityRefusal(
  authority: string | undefined,
  host: string | string[] | undefined,
  hostLines: number,
  tls: boolean,
): string | undefined {
  if (hostLines > 1) return 'A request must not carry more than one Host header.';
  const effective = authority ?? (typeof host === 'string' ? host : undefined);
  if (effective !== undefined && !VALID_HOST.test(effective)) return 'The :authority is not a valid host[:port].';
  if (authority !== undefined && typeof host === 'string') {
    if (!VALID_HOST.test(host)) return 'The Host header is not a valid host[:port].';
    if (normalisedAuthority(host, tls) !== normalisedAuthority(authority, tls))
      return 'The Host header names another authority than :authority.';
  }
  return undefined;
}

/** Via's received-by for this gateway: a pseudonym, so that no internal host name or port leaks (RFC 9110 §7.6.3). */
export const VIA_PSEUDONYM = 'bulwark';

/** Our Via entry, by the protocol version the request was received with ("1.1", "1.0", "2.0" → "2"). */
export function viaEntry(httpVersion: string): string {
  if (httpVersion === '1.1') return VIA_ENTRY_11;
  if (httpVersion === '2.0') return VIA_ENTRY_2;
  return VIA_ENTRY_10;
}
const VIA_ENTRY_11 = `1.1 ${VIA_PSEUDONYM}`;
const VIA_ENTRY_10 = `1.0 ${VIA_PSEUDONYM}`;
const VIA_ENTRY_2 = `2 ${VIA_PSEUDONYM}`;

/**
 * Passes through Bulwark a request may already have made before it is taken for a loop (RFC 9110 §7.6: an
 * intermediary must not forward to itself unless protected). A pool pointed back at its own listener then fails
 * after this many passes with 508 instead of exhausting connections; chains of Bulwarks shorter than this pass.
 */
export const MAX_OWN_VIA_HOPS = 5;

/** True when `via` already lists MAX_OWN_VIA_HOPS entries received by this gateway's pseudonym. */
export function viaLoops(via: string | string[]): boolean {
  const text = Array.isArray(via) ? via.join(',') : via;
  let own = 0;
  let from = 0;
  for (;;) {
    const at = text.indexOf(VIA_PSEUDONYM, from);
    if (at < 0) return false;
    from = at + VIA_PSEUDONYM.length;
    // received-by is the second token of an entry: a space before it and a comma, space or the end after it.
    const before = text.charCodeAt(at - 1);
    const after = text.charCodeAt(from);
    if ((before === 32 || before === 9) && (Number.isNaN(after) || after === 44 || after === 32 || after === 9)) {
      if (++own >= MAX_OWN_VIA_HOPS) return true;
    }
  }
}

/**
 * RFC 9110 §7.6.2 for an OPTIONS request (TRACE is refused outright): 0 means this gateway answers as the final
 * recipient; otherwise the value forwarded is one less. `invalid` for a value that is not 1*DIGIT.
 */
export function maxForwards(value: string): number | 'invalid' {
  const v = value.trim();
  if (v.length === 0 || v.length > 9) return v.length > 9 && /^[0-9]+$/.test(v) ? 999_999_999 : 'invalid';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return 'invalid';
  }
  return Number(v);
}

/** What this gateway says it allows when it answers OPTIONS itself (asterisk-form, Max-Forwards: 0). */
export const GATEWAY_ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
