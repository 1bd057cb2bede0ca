// The ban table on its own: canonical targets, lookups by address and CIDR, expiry, bounds, the state file and
// an attached replication.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configureProcessLogger } from '../../observability/index.js';
import { scratchDir } from '../../testing/harness.js';
import { BanTable } from './table.js';
import { formatIpv6, parseTarget, type BanTarget } from './target.js';
import type { Ban, BanChange, BanReplication } from './types.js';

configureProcessLogger({ level: 'silent' });

const text = (s: string) => (parseTarget(s) as BanTarget).text;
const ban = (target: string, ms: number, extra: Partial<Ban> = {}): Ban => ({
  target,
  until: Date.now() + ms,
  reason: 'manual',
  source: 'manual',
  strikes: 0,
  ...extra,
});

test('targets are canonical: one ban however the address is written', () => {
  assert.equal(text('203.0.113.7'), '203.0.113.7');
  assert.equal(text('203.0.113.7/32'), '203.0.113.7');
  assert.equal(text('10.1.2.3/8'), '10.0.0.0/8', 'host bits cleared');
  assert.equal(text('::ffff:198.51.100.9'), '198.51.100.9', 'IPv4-mapped, dotted');
  assert.equal(text('::ffff:c633:6409'), '198.51.100.9', 'IPv4-mapped, hex');
  assert.equal(text('::ffff:10.0.0.0/104'), '10.0.0.0/8');
  assert.equal(text('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(text('2001:db8:0:1::/64'), '2001:db8:0:1::/64');
  assert.equal(formatIpv6(0n), '::');
  assert.equal(formatIpv6(1n), '::1');
  assert.equal(text('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(text('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1', 'the longest zero run is compressed');
  assert.match(parseTarget('10.0.0.300') as string, /not an IP address/);
  assert.match(parseTarget('0.0.0.0/0') as string, /every IPv4 client/);
  assert.match(parseTarget('10.0.0.0/33') as string, /prefix length/);
});

test('lookups by exact address and by CIDR, IPv4 and IPv6, expired bans ignored', () => {
  const t = new BanTable({ node: 'n1' });
  try {
    assert.equal(t.lookup('192.0.2.1'), undefined, 'empty table');
    assert.ok(t.ban(ban('192.0.2.1', 60_000)));
    assert.ok(t.ban(ban('198.51.100.0/24', 60_000)));
    assert.ok(t.ban(ban('2001:db8:1::/48', 60_000)));
    assert.ok(t.ban(ban('2001:db8::7', 60_000)));
    assert.equal(t.lookup('192.0.2.1')?.target, '192.0.2.1');
    assert.equal(t.lookup('::ffff:192.0.2.1')?.target, '192.0.2.1');
    assert.equal(t.lookup('192.0.2.2'), undefined);
    assert.equal(t.lookup('198.51.100.250')?.target, '198.51.100.0/24');
    assert.equal(t.lookup('198.51.101.1'), undefined);
    assert.equal(t.lookup('2001:db8:1:ffff::1')?.target, '2001:db8:1::/48');
    assert.equal(t.lookup('2001:db8:0:0:0:0:0:7')?.target, '2001:db8::7');
    assert.equal(t.lookup('2001:db8::8'), undefined);
    assert.equal(t.get('2001:db8:0::7')?.node, 'n1');
    assert.equal(t.list().length, 4);
    const later = Date.now() + 120_000;
    assert.equal(t.lookup('192.0.2.1', later), undefined, 'expired at lookup time even before the sweep');
    t.sweep(later);
    assert.equal(t.size, 0, 'the sweep drops expired bans');
    assert.equal(t.lookup('198.51.100.1'), undefined);
  } finally {
    void t.close();
  }
});

test('an automatic ban never shortens one in force; unban lifts; strikes are remembered after the ban', () => {
  const t = new BanTable();
  const changes: Array<[string, string]> = [];
  t.onChange((c, origin) => changes.push([c.kind, origin]));
  try {
    t.ban(ban('192.0.2.9', 3_600_000));
    assert.equal(t.ban(ban('192.0.2.9', 60_000, { source: 'auto', reason: 'ratelimit:x', strikes: 1 })), false);
    assert.equal(t.get('192.0.2.9')?.source, 'manual');
    assert.ok(t.unban('192.0.2.9'));
    assert.equal(t.unban('192.0.2.9'), false);
    t.ban(ban('192.0.2.10', 1000, { source: 'auto', reason: 'waf:blocked', strikes: 2 }), 'worker');
    t.sweep(Date.now() + 5000);
    assert.equal(t.previousStrikes('192.0.2.10', 60_000), 2, 'kept after the ban ended');
    assert.equal(t.previousStrikes('192.0.2.10', 60_000, Date.now() + 120_000), 0, 'forgotten past memory');
    assert.deepEqual(changes, [
      ['add', 'local'],
      ['remove', 'local'],
      ['add', 'worker'],
      ['remove', 'expiry'],
    ]);
  } finally {
    void t.close();
  }
});

test('bounded: a full table evicts the ban that would end soonest', () => {
  const t = new BanTable({ maxEntries: 3 });
  try {
    t.ban(ban('192.0.2.1', 50_000));
    t.ban(ban('192.0.2.2', 10_000));
    t.ban(ban('192.0.2.3', 30_000));
    t.ban(ban('192.0.2.4', 40_000));
    assert.deepEqual(
      t.list().map((b) => b.target),
      ['192.0.2.1', '192.0.2.3', '192.0.2.4'],
    );
  } finally {
    void t.close();
  }
});

test('state file: written atomically on change, loaded by the next table, expired and malformed entries dropped', async () => {
  const file = join(scratchDir(), 'bans.json');
  const a = new BanTable();
  a.persistTo(file);
  a.ban(ban('192.0.2.50', 3_600_000, { reason: 'abuse desk ticket 7' }));
  a.ban(ban('2001:db8:5::/64', 3_600_000, { source: 'auto', reason: 'waf:blocked', strikes: 3 }));
  await a.close();
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: number; bans: Ban[] };
  assert.equal(saved.version, 1);
  assert.equal(saved.bans.length, 2);

  saved.bans.push({ ...ban('192.0.2.51', 0), until: Date.now() - 1000 }, { target: 5 } as unknown as Ban);
  writeFileSync(file, JSON.stringify(saved));
  const b = new BanTable();
  try {
    b.persistTo(file);
    assert.deepEqual(
      b.list().map((x) => [x.target, x.reason]),
      [
        ['192.0.2.50', 'abuse desk ticket 7'],
        ['2001:db8:5::/64', 'waf:blocked'],
      ],
    );
    assert.equal(b.previousStrikes('2001:db8:5::/64', 60_000), 3, 'strikes come back too');
  } finally {
    await b.close();
  }

  writeFileSync(file, '{ not json');
  const c = new BanTable();
  c.persistTo(file);
  assert.equal(c.size, 0, 'a broken file is logged and ignored');
  await c.close();
});

test('an attached replication gets local changes, applies remote ones, and loads what it stored', async () => {
  const published: BanChange[] = [];
  let deliver: (c: BanChange) => void = () => {};
  let closed = false;
  const replication: BanReplication = {
    publish: (c) => published.push(c),
    subscribe: (on) => (deliver = on),
    load: () => Promise.resolve([ban('203.0.113.1', 60_000, { node: 'other' })]),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
  const t = new BanTable();
  t.attachReplication(replication);
  await new Promise((r) => setImmediate(r));
  assert.equal(t.lookup('203.0.113.1')?.node, 'other', 'loaded at attach');
  deliver({ kind: 'add', ban: ban('203.0.113.2', 60_000) });
  assert.ok(t.lookup('203.0.113.2'), 'remote change applied');
  t.ban(ban('203.0.113.3', 60_000));
  t.unban('203.0.113.2');
  assert.deepEqual(
    published.map((c) => (c.kind === 'add' ? `+${c.ban.target}` : `-${c.target}`)),
    ['+203.0.113.3', '-203.0.113.2'],
    'only changes made here are published',
  );
  await t.close();
  assert.ok(closed);
});
