/**
 * A small writer of the MaxMind DB format (v2.0) for tests: a binary search tree over IPv4/IPv6 prefixes, a data
 * section, and the metadata map after the "\xAB\xCD\xEFMaxMind.com" marker. Enough to build country databases
 * that real readers (mmdb-lib) accept; no pointer compression or aliasing of ::ffff:0:0/96.
 * Format: https://maxmind.github.io/MaxMind-DB/ (types, control bytes, record layouts for 24/28/32 bits).
 */

/** Values the data section can hold. Plain numbers are written as uint32; tag others to pick a type. */
export type MmdbValue =
  | string
  | number
  | boolean
  | MmdbValue[]
  | { readonly [key: string]: MmdbValue }
  | { readonly $type: 'uint16' | 'uint32' | 'uint64' | 'double'; readonly value: number };

export interface MmdbEntry {
  /** "127.0.0.2/32", "2001:db8::/32", or a bare address. */
  readonly prefix: string;
  readonly data: MmdbValue;
}

export interface MmdbOptions {
  readonly ipVersion?: 4 | 6;
  readonly recordSize?: 24 | 28 | 32;
  readonly databaseType?: string;
}

const TYPE = {
  pointer: 1,
  string: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  uint64: 9,
  array: 11,
  boolean: 14,
};

function controlBytes(type: number, size: number): number[] {
  const out: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else if (size < 65821) {
    sizeBits = 30;
    const s = size - 285;
    extra.push(s >> 8, s & 0xff);
  } else {
    sizeBits = 31;
    const s = size - 65821;
    extra.push((s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff);
  }
  if (type < 8) out.push((type << 5) | sizeBits);
  else out.push(sizeBits, type - 7);
  return [...out, ...extra];
}

function uintBytes(value: number | bigint, max: number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v > 0n && out.length < max) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Encodes one value of the data section. */
export function encodeValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    return Buffer.concat([Buffer.from(controlBytes(TYPE.string, b.length)), b]);
  }
  if (typeof value === 'boolean') return Buffer.from(controlBytes(TYPE.boolean, value ? 1 : 0));
  if (typeof value === 'number') return encodeValue({ $type: 'uint32', value });
  if (Array.isArray(value)) {
    return Buffer.concat([Buffer.from(controlBytes(TYPE.array, value.length)), ...value.map(encodeValue)]);
  }
  if ('$type' in value && typeof value.$type === 'string') {
    const tagged = value as { $type: 'uint16' | 'uint32' | 'uint64' | 'double'; value: number };
    if (tagged.$type === 'double') {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(tagged.value);
      return Buffer.concat([Buffer.from(controlBytes(TYPE.double, 8)), b]);
    }
    const max = { uint16: 2, uint32: 4, uint64: 8 }[tagged.$type];
    const bytes = uintBytes(tagged.value, max);
    return Buffer.from([...controlBytes(TYPE[tagged.$type], bytes.length), ...bytes]);
  }
  const entries = Object.entries(value as Record<string, MmdbValue>);
  return Buffer.concat([
    Buffer.from(controlBytes(TYPE.map, entries.length)),
    ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)]),
  ]);
}

/** The bits of a prefix in a tree of `ipVersion`: IPv4 in an IPv6 tree sits under ::/96. */
function prefixBits(text: string, ipVersion: 4 | 6): number[] {
  const [address, len] = text.split('/') as [string, string | undefined];
  const v4 = !address.includes(':');
  let bytes: number[];
  if (v4) bytes = address.split('.').map(Number);
  else {
    const [head, tail] = address.split('::') as [string, string | undefined];
    const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
    const h = groups(head);
    const t = groups(tail);
    const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
    bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  }
  if (!v4 && ipVersion === 4) throw new Error(`IPv6 prefix ${text} in an IPv4 tree`);
  const width = bytes.length * 8;
  const prefix = len === undefined ? width : Number(len);
  const bits: number[] = [];
  if (v4 && ipVersion === 6) for (let i = 0; i < 96; i++) bits.push(0);
  for (let i = 0; i < prefix; i++) bits.push((bytes[i >> 3]! >> (7 - (i & 7))) & 1);
  return bits;
}

interface TreeNode {
  children: [TreeNode | number | null, TreeNode | number | null];
}

/** Builds a whole database file. Later entries win where prefixes overlap. */
export function buildMmdb(entries: readonly MmdbEntry[], options: MmdbOptions = {}): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 24;

  // Data section: one record per distinct value.
  const data: Buffer[] = [];
  const offsets = new Map<string, number>();
  let dataSize = 0;
  const dataOffset = (v: MmdbValue): number => {
    const key = JSON.stringify(v);
    let off = offsets.get(key);
    if (off === undefined) {
      const b = encodeValue(v);
      off = dataSize;
      data.push(b);
      dataSize += b.length;
      offsets.set(key, off);
    }
    return off;
  };

  // Leaves hold data offsets (numbers); a leaf met on the way to a longer prefix is split into two.
  const root: TreeNode = { children: [null, null] };
  for (const e of entries) {
    const bits = prefixBits(e.prefix, ipVersion);
    if (bits.length === 0) throw new Error('a /0 prefix cannot be a leaf of the tree');
    const leaf = dataOffset(e.data);
    let node = root;
    for (let i = 0; i < bits.length - 1; i++) {
      const b = bits[i] as 0 | 1;
      const child = node.children[b];
      if (child === null || typeof child === 'number') {
        const next: TreeNode = { children: [child, child] };
        node.children[b] = next;
        node = next;
      } else node = child;
    }
    node.children[bits[bits.length - 1] as 0 | 1] = leaf;
  }

  // Number the nodes breadth first; the root is node 0.
  const order: TreeNode[] = [];
  const numbers = new Map<TreeNode, number>();
  for (const queue = [root]; queue.length > 0;) {
    const n = queue.shift()!;
    numbers.set(n, order.length);
    order.push(n);
    for (const c of n.children) if (c !== null && typeof c !== 'number') queue.push(c);
  }
  const nodeCount = order.length;
  const record = (c: TreeNode | number | null): number =>
    c === null ? nodeCount : typeof c === 'number' ? nodeCount + 16 + c : numbers.get(c)!;

  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((n, i) => {
    const left = record(n.children[0]);
    const right = record(n.children[1]);
    const at = i * nodeBytes;
    if (recordSize === 24) {
      tree.writeUIntBE(left, at, 3);
      tree.writeUIntBE(right, at + 3, 3);
    } else if (recordSize === 28) {
      tree.writeUIntBE(left & 0xffffff, at, 3);
      tree[at + 3] = (((left >>> 24) & 0x0f) << 4) | ((right >>> 24) & 0x0f);
      tree.writeUIntBE(right & 0xffffff, at + 4, 3);
    } else {
      tree.writeUInt32BE(left, at);
      tree.writeUInt32BE(right, at + 4);
    }
  });

  const metadata = encodeValue({
    node_count: { $type: 'uint32', value: nodeCount },
    record_size: { $type: 'uint16', value: recordSize },
    ip_version: { $type: 'uint16', value: ipVersion },
    database_type: options.databaseType ?? 'Bulwark-Test-Country',
    languages: ['en'],
    binary_format_major_version: { $type: 'uint16', value: 2 },
    binary_format_minor_version: { $type: 'uint16', value: 0 },
    build_epoch: { $type: 'uint64', value: 1_700_000_000 },
    description: { en: 'Bulwark test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'), metadata]);
}

/** A GeoIP2-Country shaped record. */
export function country(iso: string): MmdbValue {
  return { country: { iso_code: iso, names: { en: iso } }, registered_country: { iso_code: iso } };
}
