/**
 * IP addresses and CIDRs as numbers, so lookups are table probes rather than string work.
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is always normalised to IPv4 first: keyed as IPv6 it would put every IPv4
 * client into one bucket or let it dodge an IPv4 rule.
 */
import { isIP } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** IPv4: the masked address as an unsigned 32-bit number. IPv6: the masked address as a bigint. */
  readonly network: number | bigint;
  readonly prefix: number;
  readonly text: string;
}

export function normaliseAddress(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return address;
}

export function ipv4ToNumber(address: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else {
      part = part * 10 + (c - 48);
      digits++;
    }
  }
  return digits === 0 ? -1 : n * 256 + part;
}

export function ipv6ToBigInt(address: string): bigint {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(fill).fill('0'), ...tailGroups];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). Returns an error message on failure. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const rawAddress = slash < 0 ? text : text.slice(0, slash);
  const addressText = normaliseAddress(rawAddress);
  const family = isIP(addressText);
  if (family === 0) return `"${text}" is not an IP address or CIDR`;
  // An IPv4-mapped CIDR ("::ffff:10.0.0.0/104") is the IPv4 CIDR 96 bits shorter ("10.0.0.0/8").
  const mapped = addressText !== rawAddress;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    const written = Number(p);
    const bits = mapped ? written - 96 : written;
    if (!/^\d{1,3}$/.test(p) || bits < 0 || bits > max) {
      const range = mapped ? '96 to 128 for an IPv4-mapped address' : `0 to ${max}`;
      return `"${text}" has prefix length "${p}"; expected ${range}`;
    }
    prefix = bits;
  }
  if (family === 4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return { family: 4, network: (ipv4ToNumber(addressText) & mask) >>> 0, prefix, text };
  }
  return { family: 6, network: ipv6ToBigInt(addressText) & v6Mask(prefix), prefix, text };
}

function v6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

/**
 * A set of CIDRs answering `has(address)` with one hash probe per distinct prefix length present,
 * whatever the number of entries (net.BlockList scans linearly).
 */
export class IpSet {
  private readonly v4 = new Map<number, Set<number>>();
  private readonly v6 = new Map<number, Set<bigint>>();
  private v4Prefixes: number[] = [];
  private v6Prefixes: number[] = [];
  /** Masks for v6Prefixes, computed when the list changes rather than per lookup. */
  private v6Masks: bigint[] = [];
  size = 0;

  constructor(cidrs: Iterable<Cidr> = []) {
    for (const c of cidrs) this.add(c);
  }

  add(cidr: Cidr): void {
    // The prefix lists are re-sorted only when a new prefix length appears (at most 33 + 129 times).
    if (cidr.family === 4) {
      let set = this.v4.get(cidr.prefix);
      if (!set) {
        this.v4.set(cidr.prefix, (set = new Set()));
        this.v4Prefixes = [...this.v4.keys()].sort((a, b) => b - a);
      }
      set.add(cidr.network as number);
    } else {
      let set = this.v6.get(cidr.prefix);
      if (!set) {
        this.v6.set(cidr.prefix, (set = new Set()));
        this.v6Prefixes = [...this.v6.keys()].sort((a, b) => b - a);
        this.v6Masks = this.v6Prefixes.map(v6Mask);
      }
      set.add(cidr.network as bigint);
    }
    this.size++;
  }

  has(address: string): boolean {
    const a = normaliseAddress(address);
    if (a.includes(':')) {
      if (this.v6Prefixes.length === 0) return false;
      const n = ipv6ToBigInt(a);
      for (let i = 0; i < this.v6Prefixes.length; i++) {
        if (this.v6.get(this.v6Prefixes[i]!)!.has(n & this.v6Masks[i]!)) return true;
      }
      return false;
    }
    if (this.v4Prefixes.length === 0) return false;
    const n = ipv4ToNumber(a);
    if (n < 0) return false;
    for (const p of this.v4Prefixes) {
      const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      if (this.v4.get(p)!.has((n & mask) >>> 0)) return true;
    }
    return false;
  }
}

/** The client's /24 (IPv4) or /64 (IPv6): one client's share of the address space, as rate limits and workers see it. */
export function clientPrefix(address: string): string {
  const a = normaliseAddress(address);
  if (!a.includes(':')) return a.slice(0, a.lastIndexOf('.')) + '.0/24';
  return `${(ipv6ToBigInt(a) >> 64n).toString(16)}::/64`;
}
