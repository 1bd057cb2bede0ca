import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { BatchedHistogram, batchedCounter } from './batched.js';
import { isoNow } from './clock.js';

test('a batched counter child reaches prom-client when the metric is read, once, and shares its series', async () => {
  const counter = new client.Counter({
    name: 'test_batched_total',
    help: 'h',
    labelNames: ['route', 'status'] as const,
    registers: [],
  });
  const a = batchedCounter(counter, 'r1', '429');
  const again = batchedCounter(counter, 'r1', '429');
  const other = batchedCounter(counter, 'r2', '200');
  a.inc();
  again.inc(2);
  other.inc();
  const first = await counter.get();
  const value = (route: string) => first.values.find((v) => v.labels.route === route)?.value;
  assert.equal(value('r1'), 3);
  assert.equal(value('r2'), 1);
  // Read again with nothing new: the pending amounts were moved, not copied.
  const second = await counter.get();
  assert.equal(second.values.find((v) => v.labels.route === 'r1')?.value, 3);
});

test("a batched histogram prints and aggregates as prom-client's own histogram does", async () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const ours = new BatchedHistogram({ name: 'test_batched_seconds', help: 'h', labelNames: ['route'], buckets });
  const theirs = new client.Histogram({
    name: 'test_reference_seconds',
    help: 'h',
    labelNames: ['route'] as const,
    buckets,
    registers: [],
  });
  const samples = [0.0005, 0.001, 0.003, 0.05, 0.5, 2, 7];
  for (const v of samples) {
    ours.labels('r').observe(v);
    theirs.labels('r').observe(v);
  }
  const strip = (values: Array<{ metricName?: string; labels: object; value: number }>) =>
    values.map((v) => ({
      name: v.metricName?.replace('test_reference', 'test_batched'),
      labels: v.labels,
      value: v.value,
    }));
  assert.deepEqual(strip(ours.get().values), strip((await theirs.get()).values));

  // The primary sums workers' JSON: two copies of ours sum to twice each bucket.
  const json = ours.get();
  const merged = client.AggregatorRegistry.aggregate([[json], [json]] as unknown as Parameters<
    typeof client.AggregatorRegistry.aggregate
  >[0]);
  const text = await merged.metrics();
  assert.match(text, /^test_batched_seconds_bucket\{route="r",le="0.01"\} 6$/m);
  assert.match(text, /^test_batched_seconds_count\{route="r"\} 14$/m);

  ours.reset();
  assert.deepEqual(ours.get().values, []);
  client.register.removeSingleMetric('test_batched_seconds');
});

test('isoNow is the current time as toISOString gives it', () => {
  const before = Date.now();
  const t = Date.parse(isoNow());
  assert.ok(t >= before && t <= Date.now(), `${t} within [${before}, now]`);
  assert.match(isoNow(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});
