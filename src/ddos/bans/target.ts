/**
 * Ban targets: an address or CIDR, parsed once and written in one canonical form ("198.51.100.0/24",
 * "2001:db8::/64", "203.0.113.7"), so that the same target typed two ways is one ban. IPv4-mapped IPv6, dotted
 * or in hex, becomes IPv4: a client arrives as IPv4 whichever way the socket reports it.
 */
import { parseCidr, type Cidr } from '../../lib/ip.js';

export interface BanTarget {
  readonly family: 4 | 6;
  /** The masked network: a 32-bit number (IPv4) or a 128-bit bigint (IPv6). */
  readonly network: number | bigint;
  readonly prefix: number;
  /** Canonical text; a single address has no "/32" or "/128". */
  readonly text: string;
}

const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ((1n << 128n) - 1n) ^ ((1n << 32n) - 1n);

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups written "::". */
export function formatIpv6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function fromCidr(c: Cidr): BanTarget {
  if (c.family === 6 && c.prefix >= 96 && ((c.network as bigint) & MAPPED_MASK) === MAPPED_PREFIX) {
    const v4 = Number((c.network as bigint) & 0xffffffffn);
    return fromCidr({ family: 4, network: v4, prefix: c.prefix - 96, text: c.text });
  }
  const address = c.family === 4 ? formatIpv4(c.network as number) : formatIpv6(c.network as bigint);
  const whole = c.family === 4 ? 32 : 128;
  return {
    family: c.family,
    network: c.network,
    prefix: c.prefix,
    text: c.prefix === whole ? address : `${address}/${c.prefix}`,
  };
}

/**
 * Parses what an operator or a state file gives as a target. Host bits below the prefix are cleared
 * ("10.1.2.3/8" is "10.0.0.0/8"). A /0 is refused: it would ban every client.
 * Returns an error message on failure.
 */
export function parseTarget(text: string): BanTarget | string {
  if (typeof text !== 'string' || text.length === 0) return 'the target is empty; expected an IP address or CIDR';
  if (text.length > 100) return 'the target is too long to be an IP address or CIDR';
  const c = parseCidr(text.trim());
  if (typeof c === 'string') return c;
  const t = fromCidr(c);
  if (t.prefix === 0) return `"${text}" would ban every ${t.family === 4 ? 'IPv4' : 'IPv6'} client; refused`;
  return t;
}

/** True when every address of `inner` lies in `outer` ("10.0.0.0/8" covers "10.1.2.3" and "10.1.0.0/16"). */
export function covers(outer: BanTarget, inner: BanTarget): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  if (outer.family === 4) {
    const mask = outer.prefix === 0 ? 0 : (0xffffffff << (32 - outer.prefix)) >>> 0;
    return ((inner.network as number) & mask) >>> 0 === outer.network;
  }
  const shift = BigInt(128 - outer.prefix);
  return (inner.network as bigint) >> shift === (outer.network as bigint) >> shift;
}
