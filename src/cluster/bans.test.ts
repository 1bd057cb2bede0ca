/** Ban replication against a real redis-server: two nodes (two connections) in one process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ban, BanChange, BanReplication } from '../ddos/index.js';
import { configureProcessLogger } from '../observability/index.js';
import { startRedis, type TestRedis } from '../testing/redis.js';
import { waitFor } from '../testing/spawn.js';
import { createRedisBanReplication, parseChange } from './index.js';

let redis: TestRedis;
const open: BanReplication[] = [];

before(async () => {
  configureProcessLogger({ level: 'silent' });
  redis = await startRedis();
});

after(async () => {
  await Promise.all(open.map((r) => r.close()));
  await redis.close();
});

function node(id: string): { rep: BanReplication; got: BanChange[] } {
  const rep = createRedisBanReplication({ url: redis.url, node_id: id, key_prefix: 'test:' });
  open.push(rep);
  const got: BanChange[] = [];
  rep.subscribe((c) => got.push(c));
  return { rep, got };
}

const ban = (target: string, ms: number, extra: Partial<Ban> = {}): Ban => ({
  target,
  until: Date.now() + ms,
  reason: 'manual',
  source: 'manual',
  strikes: 1,
  ...extra,
});

test('a change published on A reaches B within 1 s and is not echoed to A', async () => {
  const a = node('a');
  const b = node('b');
  assert.deepEqual(await a.rep.load(), []);
  // Subscriptions are confirmed asynchronously: wait until B hears A before timing one delivery.
  await waitFor(
    () => {
      a.rep.publish({ kind: 'add', ban: ban('192.0.2.1', 60_000) });
      return b.got.length > 0;
    },
    5000,
    'B subscribed',
  );
  const sent = ban('198.51.100.0/24', 60_000, { source: 'auto', reason: 'ratelimit:per-ip', strikes: 2, node: 'a' });
  const started = Date.now();
  a.rep.publish({ kind: 'add', ban: sent });
  await waitFor(() => b.got.some((c) => c.kind === 'add' && c.ban.target === sent.target), 1000, 'the add on B');
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1000, `delivered in ${elapsed} ms`);
  assert.deepEqual(
    b.got.find((c) => c.kind === 'add' && c.ban.target === sent.target),
    { kind: 'add', ban: sent },
  );
  a.rep.publish({ kind: 'remove', target: '192.0.2.1' });
  await waitFor(() => b.got.some((c) => c.kind === 'remove'), 1000, 'the remove on B');
  assert.deepEqual(a.got, [], 'A does not hear its own changes');
});

test('a node started later loads unexpired bans; expired ones are left out and pruned', async () => {
  const a = node('a2');
  a.rep.publish({ kind: 'add', ban: ban('203.0.113.9', 60_000) });
  a.rep.publish({ kind: 'add', ban: ban('203.0.113.10', 150) });
  await new Promise((r) => setTimeout(r, 400));
  const later = node('restarted');
  const loaded = (await later.rep.load()).map((b) => b.target).sort();
  assert.ok(loaded.includes('203.0.113.9') && loaded.includes('198.51.100.0/24'), loaded.join());
  assert.ok(!loaded.includes('203.0.113.10'), 'expired ban not loaded');
  assert.ok(!loaded.includes('192.0.2.1'), 'removed ban not loaded');
});

test('Redis killed: publish does not throw; restarted: kept changes are stored and subscriptions resume', async () => {
  const a = node('a3');
  const b = node('b3');
  await waitFor(
    () => {
      a.rep.publish({ kind: 'add', ban: ban('192.0.2.50', 60_000) });
      return b.got.some((c) => c.kind === 'add' && c.ban.target === '192.0.2.50');
    },
    5000,
    'B subscribed',
  );
  await redis.stop();
  await new Promise((r) => setTimeout(r, 200));
  assert.doesNotThrow(() => a.rep.publish({ kind: 'add', ban: ban('192.0.2.99', 60_000) }));
  assert.deepEqual(await a.rep.load(), [], 'load answers (empty) while Redis is down');

  await redis.start(); // empty: nothing was persisted
  // The change made while Redis was down is sent when A rejoins: a node started now loads it.
  const fresh = node('c3');
  await waitFor(
    async () => (await fresh.rep.load()).some((x) => x.target === '192.0.2.99'),
    10_000,
    'the kept change stored after the restart',
  );
  // B's subscription resumed: a change published now reaches it.
  await waitFor(
    () => {
      a.rep.publish({ kind: 'add', ban: ban('192.0.2.77', 60_000) });
      return b.got.some((c) => c.kind === 'add' && c.ban.target === '192.0.2.77');
    },
    10_000,
    'B hears A after the restart',
  );
});

test('malformed changes from Redis are refused field by field', () => {
  assert.equal(parseChange({ kind: 'add', ban: { target: 'x', until: 'soon' } }), undefined);
  assert.equal(parseChange({ kind: 'drop', target: 'x' }), undefined);
  assert.equal(parseChange(null), undefined);
  assert.deepEqual(parseChange({ kind: 'remove', target: '192.0.2.1' }), { kind: 'remove', target: '192.0.2.1' });
});
