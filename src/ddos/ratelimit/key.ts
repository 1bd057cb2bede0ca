/**
 * Builds a rate-limit key from the parts a rule names, compiled at load into one function. Client addresses are
 * normalised first (IPv4-mapped IPv6 becomes IPv4), and prefixes are /24 for IPv4 and /64 for IPv6: keying IPv6
 * per address would give every client 2^64 buckets.
 */
import type { Exchange } from '../../pipeline/index.js';
import { clientPrefix, normaliseAddress } from '../../lib/ip.js';

function cookieValue(header: string | undefined, name: string): string {
  if (!header) return '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

type Part = (x: Exchange) => string;

function compilePart(spec: string): Part {
  if (spec === 'client') return (x) => normaliseAddress(x.client.address);
  if (spec === 'client_prefix') return (x) => clientPrefix(x.client.address);
  if (spec === 'route') return (x) => x.route;
  if (spec.startsWith('header:')) {
    const name = spec.slice(7).toLowerCase();
    return (x) => {
      const v = x.request.headers[name];
      return Array.isArray(v) ? v.join(',') : (v ?? '');
    };
  }
  const name = spec.slice(7);
  return (x) => {
    const v = x.request.headers.cookie;
    return cookieValue(Array.isArray(v) ? v.join(';') : v, name);
  };
}

/** One function per rule; a single part avoids any joining. */
export function compileKey(parts: readonly string[]): Part {
  const fns = parts.map(compilePart);
  if (fns.length === 1) return fns[0]!;
  return (x) => fns.map((f) => f(x)).join('\u0000');
}
