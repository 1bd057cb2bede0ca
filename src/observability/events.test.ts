// The event ring: paging forward and backward exactly once, filters, capacity, events numbered as they arrive
// from other processes, the query's parsing, and which events reach the process log at which level.
import { beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureProcessLogger } from './logger.js';
import {
  eventLogLevel,
  ingestEvents,
  parseEventQuery,
  queryEvents,
  recordEvent,
  setEventCapacity,
  setEventSink,
  type EventQuery,
  type SecurityEvent,
  type UnnumberedEvent,
} from './events.js';

const logger = configureProcessLogger({ level: 'info' });
const logged: Array<{ level: string; msg: string }> = [];
/** Puts the log's lines in `logged`; again after a level change, since pino then sets its methods anew. */
function capture(): void {
  for (const level of ['debug', 'info', 'warn'] as const)
    mock.method(logger, level, (_obj: unknown, msg: string) => void logged.push({ level, msg }));
}
capture();

beforeEach(() => {
  logged.length = 0;
});

function waf(i: number, action = 'blocked', rule = 942100) {
  return recordEvent({
    type: 'waf',
    request_id: `r${i}`,
    route: i % 2 ? 'odd' : 'even',
    client: '127.0.0.1',
    action,
    matches: [{ id: rule }],
  });
}

/** Pages with `q` from `start` until an empty page; returns the request ids in the order they came. */
function pageAll(q: EventQuery, start: { after?: number; before?: number }): string[] {
  const seen: string[] = [];
  let bound = start;
  for (let pages = 0; pages < 1000; pages++) {
    const page = queryEvents({ ...q, ...bound });
    if (page.events.length === 0) return seen;
    seen.push(...page.events.map((e) => e.request_id));
    bound = q.order === 'desc' ? { before: page.next } : { after: page.next };
  }
  throw new Error('paging did not end');
}

test('asc pages from after=next see every event once, in order, whatever the limit and filters', () => {
  setEventCapacity(10_000);
  const from = queryEvents({}).last;
  for (let i = 0; i < 250; i++) waf(i);
  const ids = Array.from({ length: 250 }, (_, i) => `r${i}`);
  for (const limit of [1, 7, 100, 10_000]) assert.deepEqual(pageAll({ limit }, { after: from }), ids);
  assert.deepEqual(
    pageAll({ limit: 9, route: 'odd' }, { after: from }),
    ids.filter((_, i) => i % 2),
  );
  // Events recorded between two pages are on the next one, once.
  const first = queryEvents({ after: from, limit: 100 });
  waf(1000);
  const rest = pageAll({ limit: 100 }, { after: first.next });
  assert.equal(rest.length, 151);
  assert.equal(rest.at(-1), 'r1000');
});

test('order=desc gives newest first and pages back with before=next', () => {
  setEventCapacity(10_000);
  const from = queryEvents({}).last;
  for (let i = 0; i < 30; i++) waf(i);
  const newest = queryEvents({ order: 'desc', limit: 3 });
  assert.deepEqual(
    newest.events.map((e) => e.request_id),
    ['r29', 'r28', 'r27'],
  );
  assert.equal(newest.order, 'desc');
  const back = pageAll({ order: 'desc', limit: 4, after: from }, { before: newest.last + 1 });
  assert.deepEqual(
    back,
    Array.from({ length: 30 }, (_, i) => `r${29 - i}`),
  );
});

test('an empty page still moves next past what it examined, and first tells a reader what capacity dropped', () => {
  setEventCapacity(10_000);
  for (let i = 0; i < 5; i++) waf(i, 'blocked', 941100);
  const none = queryEvents({ rule: '1', limit: 2 });
  assert.deepEqual(none.events, []);
  assert.equal(none.next, none.last);
  setEventCapacity(10);
  for (let i = 0; i < 20; i++) waf(i);
  const page = queryEvents({ after: 0 });
  assert.equal(page.events.length, 10);
  assert.equal(page.first, page.last - 9);
  assert.equal(page.events[0]!.seq, page.first);
});

test('events from other processes are numbered on arrival, after the ones already kept', () => {
  setEventCapacity(10_000);
  const from = queryEvents({}).last;
  const theirs = (n: number): SecurityEvent =>
    ({
      seq: n, // the sender's own number, replaced on arrival
      time: new Date().toISOString(),
      pid: 4242,
      type: 'waf',
      request_id: `w${n}`,
      route: 'r',
      client: 'c',
      action: 'blocked',
    }) as SecurityEvent;
  ingestEvents([theirs(1), theirs(2)]);
  waf(7);
  ingestEvents([theirs(3)]);
  const page = queryEvents({ after: from });
  assert.deepEqual(
    page.events.map((e) => [e.request_id, e.seq - from]),
    [
      ['w1', 1],
      ['w2', 2],
      ['r7', 3],
      ['w3', 4],
    ],
  );
  assert.equal(page.events[0]!.pid, 4242);
});

test('with a sink, events leave the process instead of going to its ring', () => {
  const sent: UnnumberedEvent[] = [];
  const before = queryEvents({}).last;
  setEventSink((e) => sent.push(e));
  try {
    waf(1);
  } finally {
    setEventSink(undefined);
  }
  assert.equal(sent.length, 1);
  assert.equal('seq' in sent[0]!, false, 'numbered by the process that keeps the ring');
  assert.equal(queryEvents({ after: before }).events.length, 0);
});

test('query parameters: numbers, order and limits are checked, with messages that say what is expected', () => {
  const q = parseEventQuery(new URLSearchParams('after=5&order=desc&limit=20&type=waf&rule=942100'));
  assert.deepEqual(q, {
    after: 5,
    before: undefined,
    order: 'desc',
    limit: 20,
    type: 'waf',
    route: undefined,
    action: undefined,
    request_id: undefined,
    rule: '942100',
  });
  assert.match(String(parseEventQuery(new URLSearchParams('after=-1'))), /after must be a whole number/);
  assert.match(String(parseEventQuery(new URLSearchParams('after=abc'))), /after must be a whole number/);
  assert.match(String(parseEventQuery(new URLSearchParams('order=newest'))), /order must be asc .* or desc/);
  assert.match(String(parseEventQuery(new URLSearchParams('limit=0'))), /limit must be from 1 to 10000/);
  assert.match(
    String(parseEventQuery(new URLSearchParams('limit=10001'))),
    /limit must be a whole number from 0 to 10000/,
  );
});

test('the log: a match that let the request through is debug, a refusal info, a node in trouble warn', () => {
  assert.equal(eventLogLevel({ action: 'detected' }), 'debug');
  assert.equal(eventLogLevel({ action: 'solved' }), 'debug');
  for (const action of ['blocked', 'refused', 'ban', 'unban', 'issued', 'failed', 'closed', 'ok', 'rejoined'])
    assert.equal(eventLogLevel({ action }), 'info', action);
  for (const action of ['shedding_normal', 'shedding_all', 'fallback']) assert.equal(eventLogLevel({ action }), 'warn');

  // At the default level (info): a WAF pass puts nothing in the log, a block one info line.
  waf(1, 'detected', 920350);
  assert.deepEqual(logged, []);
  waf(2, 'blocked');
  assert.deepEqual(logged, [{ level: 'info', msg: 'waf blocked' }]);
  logged.length = 0;
  recordEvent({ type: 'cluster', request_id: '-', route: '-', client: '-', action: 'fallback' });
  assert.deepEqual(logged, [{ level: 'warn', msg: 'cluster fallback' }]);
  // Asked for debug, the pass is there; it is in /v1/events either way.
  logged.length = 0;
  logger.level = 'debug';
  capture();
  waf(3, 'detected', 920350);
  logger.level = 'info';
  assert.deepEqual(logged, [{ level: 'debug', msg: 'waf detected' }]);
  assert.equal(queryEvents({ request_id: 'r3', action: 'detected' }).events.length, 1);
});
