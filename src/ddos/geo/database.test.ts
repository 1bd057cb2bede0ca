// The MaxMind DB reader path: databases from the test writer read back for every record size and IP version;
// truncated, damaged and random files give a reason, never an exception or a hang (bounded, seeded fuzz).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMmdb, country, type MmdbEntry } from '../../testing/mmdb-writer.js';
import { loadGeoDatabase, parseGeoDatabase } from './database.js';

const ENTRIES: MmdbEntry[] = [
  { prefix: '127.0.0.2/32', data: country('DE') },
  { prefix: '127.0.0.3/32', data: country('US') },
  { prefix: '10.0.0.0/8', data: country('FR') },
  { prefix: '10.1.0.0/16', data: country('JP') },
  { prefix: '2001:db8::/32', data: country('NL') },
  // No `country`, only `registered_country` (as MaxMind has for some anycast ranges).
  { prefix: '198.51.100.0/24', data: { registered_country: { iso_code: 'SE' } } },
];

const PROBES: Array<[string, string | undefined]> = [
  ['127.0.0.2', 'DE'],
  ['127.0.0.3', 'US'],
  ['127.0.0.4', undefined],
  ['10.200.1.1', 'FR'],
  ['10.1.2.3', 'JP'],
  ['2001:db8:1::7', 'NL'],
  ['2001:db9::1', undefined],
  ['198.51.100.9', 'SE'],
  ['192.0.2.1', undefined],
];

test('databases from the test writer read back: record sizes 24, 28, 32; IPv6 and IPv4 trees', () => {
  for (const recordSize of [24, 28, 32] as const) {
    const db = parseGeoDatabase(buildMmdb(ENTRIES, { recordSize }), 'mem');
    assert.ok(typeof db !== 'string', `record size ${recordSize}: ${String(db)}`);
    for (const [address, iso] of PROBES) assert.equal(db.country(address), iso, `${address} (${recordSize} bits)`);
    assert.equal(db.ipVersion, 6);
  }
  const v4 = parseGeoDatabase(
    buildMmdb(
      ENTRIES.filter((e) => !e.prefix.includes(':')),
      { ipVersion: 4 },
    ),
    'mem',
  );
  assert.ok(typeof v4 !== 'string');
  assert.equal(v4.country('127.0.0.2'), 'DE');
  assert.equal(v4.country('2001:db8::1'), undefined, 'an IPv6 address in an IPv4 database is unknown');
});

test('a missing file, an empty file and a text file are refused with a reason', () => {
  assert.equal(loadGeoDatabase('/nonexistent/geo.mmdb'), 'file does not exist');
  assert.match(String(parseGeoDatabase(Buffer.alloc(0), 'x')), /no MaxMind DB metadata marker/);
  assert.match(String(parseGeoDatabase(Buffer.from('127.0.0.2 DE\n'), 'x')), /no MaxMind DB metadata marker/);
});

/** xorshift32: the same sequence every run, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const ADDRESSES = ['127.0.0.2', '127.0.0.3', '10.1.2.3', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::1', 'ffff::'];

/** Loading either fails with a reason or gives a database whose lookups answer a string or undefined. */
function survives(buf: Buffer): 'refused' | 'loaded' {
  const db = parseGeoDatabase(buf, 'fuzz');
  if (typeof db === 'string') {
    assert.ok(db.length > 0);
    return 'refused';
  }
  for (const a of ADDRESSES) {
    const iso = db.country(a);
    assert.ok(iso === undefined || typeof iso === 'string');
  }
  return 'loaded';
}

test('fuzz: every truncation, random byte damage and random files; none throws or hangs', () => {
  const good = buildMmdb(ENTRIES, { recordSize: 28 });
  const markerAt = good.lastIndexOf(Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'));
  for (let len = 0; len < good.length; len++) {
    const outcome = survives(good.subarray(0, len));
    if (len < markerAt + 14) assert.equal(outcome, 'refused', `truncated to ${len} bytes`);
  }
  const next = rng(0x5eed);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(good);
    const flips = 1 + Math.floor(next() * 8);
    for (let f = 0; f < flips; f++) buf[Math.floor(next() * buf.length)] = Math.floor(next() * 256);
    if (survives(buf) === 'refused') refused++;
  }
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.alloc(Math.floor(next() * 2048));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(next() * 256);
    // Half of them end in a marker followed by garbage, so the metadata decoder sees hostile bytes.
    const tail = Buffer.alloc(Math.floor(next() * 64));
    for (let j = 0; j < tail.length; j++) tail[j] = Math.floor(next() * 256);
    survives(i % 2 ? buf : Buffer.concat([buf, Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'), tail]));
  }
  assert.ok(refused > 0, 'some damaged files were refused at load');
});
