/**
 * Header handling between client and origin (RFC 9110 §7.6.1): hop-by-hop headers and those named in
 * Connection are dropped in both directions; X-Forwarded-* and Forwarded are set from what the gateway saw,
 * believing what came before only from trusted proxies. docs/conformance.md lists the rules and their tests.
 */
import { randomUUID } from 'node:crypto';
import type { IpSet } from '../../lib/ip.js';
import { normaliseAddress } from '../../lib/ip.js';
import { viaEntry } from './message-rules.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Credentials and challenges between a client and the proxy it chose (RFC 9110 §11.7): never the origin's or
  // the client's business on the far side of this gateway, and a credential leak if passed on.
  'proxy-authorization',
  'proxy-authenticate',
]);

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: kept from a trusted proxy when well-formed, otherwise a new UUID (clients cannot forge ids). */
export function requestIdFor(sent: string | string[] | undefined, peerTrusted: boolean): string {
  return peerTrusted && typeof sent === 'string' && REQUEST_ID_RE.test(sent) ? sent : randomUUID();
}

/** Headers the gateway sets itself towards the origin; a client's copies are dropped. */
const GATEWAY_SET = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id']);

/** Names listed in Connection ("Connection: close, x-foo") are hop-by-hop for this message too. */
export function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let out: Set<string> | undefined;
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (out ??= new Set()).add(name);
  }
  return out;
}

export function isHopByHop(lowerName: string, listed: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(lowerName) || (listed !== undefined && listed.has(lowerName));
}

/**
 * The client address: the socket peer, unless the peer is a trusted proxy, in which case X-Forwarded-For is
 * read right to left and the first address that is not itself a trusted proxy is the client.
 */
export function clientAddress(peer: string, xff: string | string[] | undefined, trusted: IpSet | undefined): string {
  const socketPeer = normaliseAddress(peer);
  if (!trusted || trusted.size === 0 || xff === undefined || !trusted.has(socketPeer)) return socketPeer;
  const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]!.trim());
    if (hop === '') continue;
    if (!trusted.has(hop)) return hop;
  }
  return socketPeer;
}

export interface ForwardContext {
  readonly peer: string;
  readonly peerTrusted: boolean;
  readonly tls: boolean;
  /** The authority the request is for (:authority, an absolute-form target's, else Host); sent as Host. */
  readonly host: string;
  readonly requestId: string;
  /** This hop's Via entry (viaEntry of the client's version); "1.1 bulwark" when not given. */
  readonly via?: string;
  /** The Max-Forwards value to send instead of the client's (an OPTIONS request, already decremented). */
  readonly maxForwards?: number;
}

function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/**
 * Builds the origin request headers as a flat [name, value, ...] list from the client's raw headers, keeping
 * duplicates and order, and skipping HTTP/2 pseudo-headers. Host comes first and is always the request's
 * authority, never a client's second opinion (RFC 9112 §3.2.2, RFC 9113 §8.3.1); Cookie lines (HTTP/2 crumbs
 * included) are joined with "; " (RFC 9113 §8.2.3); Via gains this hop (RFC 9110 §7.6.3).
 */
export function originRequestHeaders(raw: readonly string[], ctx: ForwardContext, extra?: HeaderEdits): string[] {
  // A route's own Host edit (set or remove) wins over the request's authority.
  const ownHost = ctx.host !== '' && !extra?.set?.has('host') && !extra?.remove?.has('host');
  const out: string[] = ownHost ? ['host', ctx.host] : [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') listed = connectionListed(raw[i + 1]);
  }
  let priorXff: string | undefined;
  let priorForwarded: string | undefined;
  let priorProto: string | undefined;
  let priorVia: string | undefined;
  let cookieAt = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58) continue; // ":authority" and friends
    const lower = name.toLowerCase();
    if (isHopByHop(lower, listed)) continue;
    if (GATEWAY_SET.has(lower)) {
      if (ctx.peerTrusted) {
        if (lower === 'x-forwarded-for') priorXff = priorXff ? `${priorXff}, ${raw[i + 1]}` : raw[i + 1];
        else if (lower === 'forwarded')
          priorForwarded = priorForwarded ? `${priorForwarded}, ${raw[i + 1]}` : raw[i + 1];
        else if (lower === 'x-forwarded-proto') priorProto = raw[i + 1];
      }
      continue;
    }
    if (lower === 'host' || lower === 'expect') continue; // Host is set above; 100-continue is answered here
    if (extra?.remove?.has(lower) || extra?.set?.has(lower)) continue;
    if (lower === 'cookie') {
      if (cookieAt >= 0) {
        out[cookieAt] = `${out[cookieAt]}; ${raw[i + 1]}`;
        continue;
      }
      cookieAt = out.length + 1;
    } else if (lower === 'via') {
      priorVia = priorVia ? `${priorVia}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    } else if (lower === 'max-forwards' && ctx.maxForwards !== undefined) {
      out.push(name, String(ctx.maxForwards));
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  const via = ctx.via ?? VIA_DEFAULT;
  out.push('via', priorVia ? `${priorVia}, ${via}` : via);
  const peer = normaliseAddress(ctx.peer);
  const proto = priorProto ?? (ctx.tls ? 'https' : 'http');
  out.push('x-forwarded-for', priorXff ? `${priorXff}, ${peer}` : peer);
  out.push('x-forwarded-proto', proto);
  out.push('x-forwarded-host', ctx.host);
  const element = `for=${forwardedNode(peer)};host="${ctx.host}";proto=${ctx.tls ? 'https' : 'http'}`;
  out.push('forwarded', priorForwarded ? `${priorForwarded}, ${element}` : element);
  out.push('x-request-id', ctx.requestId);
  if (extra?.set) for (const [k, v] of extra.set) out.push(k, v);
  if (extra?.add) for (const [k, v] of extra.add) out.push(k, v);
  return out;
}

const VIA_DEFAULT = viaEntry('1.1');

/** Header edits compiled at load: lowercase names, maps and sets. */
export interface HeaderEdits {
  readonly set?: ReadonlyMap<string, string>;
  readonly add?: ReadonlyArray<readonly [string, string]>;
  readonly remove?: ReadonlySet<string>;
}

export function compileHeaderEdits(
  edits: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } | undefined,
): HeaderEdits | undefined {
  if (!edits) return undefined;
  return {
    set: edits.set ? new Map(Object.entries(edits.set).map(([k, v]) => [k.toLowerCase(), v])) : undefined,
    add: edits.add ? Object.entries(edits.add).map(([k, v]) => [k.toLowerCase(), v] as const) : undefined,
    remove: edits.remove ? new Set(edits.remove.map((r) => r.toLowerCase())) : undefined,
  };
}

/** Origin response headers for the client: hop-by-hop dropped, edits applied, request id added. */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  requestId: string,
  edits: HeaderEdits | undefined,
): Record<string, string | string[]> {
  const listed = connectionListed(headers['connection']);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || isHopByHop(name, listed)) continue;
    if (edits?.remove?.has(name)) continue;
    out[name] = value;
  }
  if (edits?.set) for (const [k, v] of edits.set) out[k] = v;
  if (edits?.add)
    for (const [k, v] of edits.add) {
      const prior = out[k];
      out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
    }
  out['x-request-id'] = requestId;
  return out;
}
