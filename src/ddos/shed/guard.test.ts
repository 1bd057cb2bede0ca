// The overload guard's state machine, driven by an injected sampler and clock (no timer, no sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../../config/index.js';
import { loadConfigText } from '../../bulwark-config.js';
import { queryEvents } from '../../observability/index.js';
import { OverloadGuard, type Sample } from './guard.js';

function harness(config: Parameters<OverloadGuard['configure']>[0]) {
  let clock = 0;
  let delay = 0;
  const guard = new OverloadGuard({
    timer: false,
    now: () => clock,
    sample: (): Sample => ({ eventLoopDelayMs: delay, heapUsed: 0, rss: 0 }),
  });
  const since = queryEvents({ type: 'overload', limit: 10000 }).last;
  guard.configure(config);
  return {
    guard,
    /** Advances the clock, sets the delay the next sample reads, and samples. */
    step(ms: number, delayMs: number) {
      clock += ms;
      delay = delayMs;
      guard.tick();
      return guard.level;
    },
    events: () => queryEvents({ type: 'overload', after: since, limit: 10000 }).events,
  };
}

test('in-flight: level 1 at the normal threshold, level 2 at the protected one, checked per request', () => {
  const { guard } = harness({ inflight: { normal: 5, protected: 8 } });
  guard.inflight = 4;
  guard.checkInflight();
  assert.equal(guard.level, 0);
  guard.inflight = 5;
  guard.checkInflight();
  assert.equal(guard.level, 1);
  assert.equal(guard.reason, 'inflight');
  guard.inflight = 8;
  guard.checkInflight();
  assert.equal(guard.level, 2);
});

test('hysteresis: a delay hovering around the threshold raises once and does not flap', () => {
  const h = harness({ event_loop_delay: { normal: 100 }, clear_below: 0.8, clear_after: 1000 });
  assert.equal(h.step(250, 120), 1, 'raised at once');
  // Alternating just under and over the threshold, but above the clear line (80): stays raised.
  for (let i = 0; i < 20; i++) assert.equal(h.step(250, i % 2 ? 110 : 90), 1);
  // Under the clear line, but interrupted before clear_after has passed: still raised.
  assert.equal(h.step(250, 50), 1);
  assert.equal(h.step(250, 50), 1);
  assert.equal(h.step(250, 85), 1, 'back over the clear line resets the wait');
  assert.equal(h.step(250, 50), 1);
  assert.equal(h.step(500, 50), 1);
  assert.equal(h.step(500, 50), 0, 'clears after 1000 ms under the line');
  const actions = h.events().map((e) => e.action);
  assert.deepEqual(actions, ['shedding_normal', 'ok'], 'one event per state change, not per sample');
  assert.equal(h.events()[0]!['signal'], 'event_loop_delay');
  assert.equal(h.events()[0]!['threshold'], 100);
});

test('levels clear one at a time; protected thresholds raise straight to level 2', () => {
  const h = harness({ event_loop_delay: { normal: '100ms', protected: '400ms' }, clear_after: '1s' });
  assert.equal(h.step(100, 500), 2);
  assert.equal(h.step(100, 10), 2);
  assert.equal(h.step(1000, 10), 1, 'one level down after clear_after');
  assert.equal(h.step(100, 10), 1, 'the next level waits its own clear_after');
  assert.equal(h.step(1000, 10), 0);
  assert.deepEqual(
    h.events().map((e) => [e.action, e['from']]),
    [
      ['shedding_all', 'ok'],
      ['shedding_normal', 'shedding_all'],
      ['ok', 'shedding_normal'],
    ],
  );
});

test('a level raised by in-flight clears on samples once requests finish', () => {
  const h = harness({ inflight: { normal: 5 }, clear_after: 500 });
  h.guard.inflight = 5;
  h.guard.checkInflight();
  assert.equal(h.guard.level, 1);
  h.guard.inflight = 4; // 4 >= 0.8 x 5: not yet under the clear line
  assert.equal(h.step(100, 0), 1);
  assert.equal(h.step(1000, 0), 1);
  h.guard.inflight = 3;
  assert.equal(h.step(100, 0), 1);
  assert.equal(h.step(500, 0), 0);
});

test('memory signals, protected clients, and switching shedding off', () => {
  let heap = 0;
  const guard = new OverloadGuard({
    timer: false,
    now: () => 0,
    sample: () => ({ eventLoopDelayMs: 0, heapUsed: heap, rss: 0 }),
  });
  guard.configure({
    heap_used: { normal: '1MiB' },
    protected_clients: { cidrs: ['10.1.0.0/16'], headers: ['Authorization'] },
    retry_after: '2500ms',
  });
  heap = 2 * 1024 * 1024;
  guard.tick();
  assert.equal(guard.level, 1);
  assert.equal(guard.reason, 'heap_used');
  assert.equal(guard.verdict.kind === 'end' && guard.verdict.headers?.['retry-after'], '3', 'rounded up to seconds');
  assert.equal(guard.isProtectedClient('10.1.2.3', {}), true);
  assert.equal(guard.isProtectedClient('10.2.0.1', {}), false);
  assert.equal(guard.isProtectedClient('10.2.0.1', { authorization: 'Bearer x' }), true);
  guard.configure(undefined);
  assert.equal(guard.level, 0, 'no overload section: nothing is shed');
  assert.equal(guard.enabled, false);
});

test('config: protected below normal, no signal, and a bad CIDR are refused with their position', () => {
  const base = `listeners: [{ name: p, address: "127.0.0.1:0" }]
pools: { main: { origins: [{ url: "http://127.0.0.1:1" }] } }
routes: [{ name: r, pool: main, priority: protected }]
`;
  const bad = loadConfigText(
    `${base}overload:
  inflight: { normal: 10, protected: 5 }
  protected_clients: { cidrs: [10.0.0.0/40] }
`,
    'o.yaml',
    '/tmp',
  );
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  const lines = bad.problems.map(formatProblem).join('\n');
  assert.match(lines, /^o\.yaml:5:\d+ overload\.inflight\.protected: must be at least `normal`/m);
  assert.match(lines, /^o\.yaml:6:\d+ overload\.protected_clients\.cidrs\[0\]: /m);
  const none = loadConfigText(`${base}overload: { retry_after: 2s }\n`, 'o.yaml', '/tmp');
  assert.equal(none.ok, false);
  if (!none.ok) assert.match(none.problems.map(formatProblem).join('\n'), /overload: names no signal/);
  const prio = loadConfigText(base.replace('priority: protected', 'priority: high'), 'o.yaml', '/tmp');
  assert.equal(prio.ok, false);
  if (!prio.ok) assert.match(prio.problems.map(formatProblem).join('\n'), /priority.*"normal" or "protected"/);
});
