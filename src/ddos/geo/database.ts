/**
 * Country databases in the MaxMind DB format (GeoLite2/GeoIP2 Country or City, or any file with the same shape),
 * read with mmdb-lib. A file is checked whole when it is loaded: metadata, and every search-tree record pointing
 * at a node, at "no data" or inside the data section, so a truncated or damaged file is refused with a reason
 * instead of misbehaving on some lookup later. Each path is loaded once per process, shared by the routes that
 * name it, and re-read when it changes; a bad new file is logged and the previous database keeps serving.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { Reader, type Response } from 'mmdb-lib';
import { log } from '../../observability/index.js';

const MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** Decoded records kept per database (a Country database has a few hundred distinct ones). */
const CACHE_ENTRIES = 8192;

/** mmdb-lib's decode cache, bounded: cleared when full rather than tracking recency. */
class BoundedCache {
  private readonly map = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.map.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.map.size >= CACHE_ENTRIES) this.map.clear();
    this.map.set(key, value);
  }
}

interface CountryRecord {
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
}

export class GeoDatabase {
  private warned = false;

  constructor(
    readonly path: string,
    private readonly reader: Reader<Response>,
    readonly ipVersion: 4 | 6,
    readonly type: string,
    /** ISO date of build_epoch, for logs. */
    readonly built: string,
  ) {}

  /**
   * ISO 3166-1 alpha-2 code of the address's country (`country`, else `registered_country`), or undefined when
   * the database has none. Never throws: a record that does not decode counts as unknown and is logged once.
   */
  country(address: string): string | undefined {
    if (this.ipVersion === 4 && address.includes(':')) return undefined;
    try {
      const r = this.reader.get(address) as CountryRecord | null;
      if (r === null || typeof r !== 'object') return undefined;
      const iso = r.country?.iso_code ?? r.registered_country?.iso_code;
      return typeof iso === 'string' ? iso : undefined;
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        log().warn({ file: this.path, err: (e as Error).message }, 'geo database record does not decode');
      }
      return undefined;
    }
  }
}

/** Reads one record of the search tree (the layouts of the MaxMind DB spec). */
function recordReader(buf: Buffer, recordSize: number): (node: number, right: 0 | 1) => number {
  const size = recordSize / 4;
  if (recordSize === 24) return (n, r) => buf.readUIntBE(n * size + r * 3, 3);
  if (recordSize === 32) return (n, r) => buf.readUInt32BE(n * size + r * 4);
  return (n, r) => {
    const at = n * size;
    const middle = buf[at + 3]!;
    return r === 0
      ? ((middle & 0xf0) << 20) | buf.readUIntBE(at, 3)
      : ((middle & 0x0f) << 24) | buf.readUIntBE(at + 4, 3);
  };
}

/** Parses and checks a whole database; a string says what is wrong. */
export function parseGeoDatabase(buf: Buffer, path: string): GeoDatabase | string {
  const markerAt = buf.lastIndexOf(MARKER);
  if (markerAt < 0) return 'no MaxMind DB metadata marker: not a MaxMind DB file, or a truncated one';
  let reader: Reader<Response>;
  try {
    reader = new Reader(buf, { cache: new BoundedCache() });
  } catch (e) {
    return `does not load: ${(e as Error).message}`;
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2) return `binary format version ${String(m.binaryFormatMajorVersion)}, not 2`;
  if (m.ipVersion !== 4 && m.ipVersion !== 6) return `ip_version ${String(m.ipVersion)} is neither 4 nor 6`;
  if (!Number.isSafeInteger(m.nodeCount) || m.nodeCount < 1) return `node_count ${String(m.nodeCount)} is not valid`;
  const dataStart = m.searchTreeSize + 16;
  if (dataStart > markerAt) return `the search tree (${m.nodeCount} nodes) is longer than the file: truncated?`;
  const dataSize = markerAt - dataStart;
  const read = recordReader(buf, m.recordSize);
  for (let n = 0; n < m.nodeCount; n++) {
    for (const side of [0, 1] as const) {
      const r = read(n, side);
      if (r <= m.nodeCount) continue;
      const offset = r - m.nodeCount - 16;
      if (offset < 0 || offset >= dataSize)
        return `search tree node ${n} points outside the data section (record ${r})`;
    }
  }
  const type = typeof m.databaseType === 'string' ? m.databaseType : 'unknown';
  const built = Number.isNaN(m.buildEpoch.getTime()) ? 'unknown' : m.buildEpoch.toISOString();
  return new GeoDatabase(path, reader, m.ipVersion, type, built);
}

/** Reads and checks a database file; a string says what is wrong (including a missing file). */
export function loadGeoDatabase(path: string): GeoDatabase | string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'file does not exist' : `cannot be read: ${(e as Error).message}`;
  }
  return parseGeoDatabase(buf, path);
}

/** One loaded path, shared by every stage that names it, re-read when the file changes. */
export class WatchedGeoDatabase {
  users = 0;

  constructor(
    readonly path: string,
    public current: GeoDatabase,
  ) {
    watchFile(path, { interval: 1000, persistent: false }, (now: Stats, before: Stats) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
      const next = loadGeoDatabase(path);
      if (typeof next === 'string') {
        log().warn({ file: path, problem: next }, 'geo database not reloaded; the previous one keeps serving');
        return;
      }
      this.current = next;
      log().info({ file: path, type: next.type, built: next.built }, 'geo database reloaded');
    });
  }

  close(): void {
    unwatchFile(this.path);
  }
}

const open = new Map<string, WatchedGeoDatabase>();

/** The shared database for an absolute path; a string says why it could not be loaded. */
export function acquireGeoDatabase(path: string): WatchedGeoDatabase | string {
  let w = open.get(path);
  if (!w) {
    const db = loadGeoDatabase(path);
    if (typeof db === 'string') return db;
    w = new WatchedGeoDatabase(path, db);
    open.set(path, w);
  }
  w.users++;
  return w;
}

export function releaseGeoDatabase(w: WatchedGeoDatabase): void {
  if (--w.users > 0) return;
  w.close();
  if (open.get(w.path) === w) open.delete(w.path);
}
