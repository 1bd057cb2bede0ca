/**
 * Security events: one record per flagged or refused request (and per change of node state), kept in a bounded
 * ring for `GET /v1/events` (docs/events.md) and written to the process log at the level eventLogLevel gives.
 * Callers mask secrets before recording.
 *
 * One order per node: `seq` is assigned by the process that keeps the ring. With workers, each worker hands its
 * events to a sink (the relay to the primary, src/process) instead of keeping them, and the primary numbers them
 * as they arrive (ingestEvents). A reader then pages one sequence with a plain number, `after=SEQ`, and sees
 * each event once: a number never changes meaning, and a new event always gets a higher one. The alternative, a
 * cursor holding every worker's position, leaves each worker's events in its own ring, so they die with it, and a
 * read asks every worker; here a worker's cost per event is an append to a batch it sends once in a while.
 */
import { log } from './logger.js';

/** What a caller of recordEvent gives: the fields every event has, and its type's own (docs/events.md). */
export interface EventFields {
  /** The capability that raised it: `waf`, `ban`, `challenge`, `connections`, `overload`, `cluster`. */
  readonly type: string;
  readonly request_id: string;
  readonly route: string;
  readonly client: string;
  readonly action: string;
  readonly [field: string]: unknown;
}

/** An event before the process that keeps the ring has numbered it: what a worker sends to the primary. */
export interface UnnumberedEvent extends EventFields {
  readonly time: string;
  /** The process that raised it (a worker, or the primary). */
  readonly pid: number;
}

export interface SecurityEvent extends UnnumberedEvent {
  /** The node-wide order: increasing, assigned by the process that keeps the ring; `after`/`before` page on it. */
  readonly seq: number;
}

export interface EventQuery {
  /** Only events with a higher seq. */
  readonly after?: number;
  /** Only events with a lower seq. */
  readonly before?: number;
  /** `asc`: oldest first (the default); `desc`: newest first. */
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
  readonly type?: string;
  readonly route?: string;
  readonly action?: string;
  readonly request_id?: string;
  readonly rule?: string;
}

export interface EventPage {
  readonly events: SecurityEvent[];
  readonly order: 'asc' | 'desc';
  /**
   * Where to continue: `after=next` for `asc`, `before=next` for `desc`. Every event between the query's bound and
   * `next` that matched the filters is in this page, so the next page neither repeats nor skips one.
   */
  readonly next: number;
  /** The oldest seq still kept (`last + 1` when none is): `after + 1 < first` means the ring dropped some. */
  readonly first: number;
  /** The newest seq given so far. */
  readonly last: number;
}

const MAX_LIMIT = 10_000;

let capacity = 1000;
let ring: SecurityEvent[] = [];
let seq = 0;
let sink: ((event: UnnumberedEvent) => void) | undefined;

export function setEventCapacity(n: number): void {
  capacity = n;
  if (ring.length > n) ring = ring.slice(ring.length - n);
}

export function eventCapacity(): number {
  return capacity;
}

/**
 * From now on, recorded events go to `fn` instead of this process's ring (a worker hands them to the primary,
 * which numbers and keeps them). They are still logged here, where they happen, without a seq: only the primary's
 * numbers mean anything to a reader.
 */
export function setEventSink(fn: ((event: UnnumberedEvent) => void) | undefined): void {
  sink = fn;
}

/**
 * Actions that let the request through (a match below the anomaly threshold or in detection-only mode, a solved
 * challenge): in /v1/events and metrics, at debug in the log. A plain request to the default config matches CRS
 * 920350 (numeric Host) and must not put a line in the operator's log.
 */
const PASSED = new Set(['detected', 'solved']);
/** The node changed state in a way someone must look at: shedding load, the cluster store lost. */
const ALERTS = new Set(['shedding_normal', 'shedding_all', 'fallback']);

/**
 * The log level of an event: debug when the request went through, warn when the node's state needs an operator,
 * info for the rest (a refusal, a block, a ban: the gateway did its job, and the access log has every request).
 */
export function eventLogLevel(event: Pick<SecurityEvent, 'action'>): 'debug' | 'info' | 'warn' {
  if (PASSED.has(event.action)) return 'debug';
  if (ALERTS.has(event.action)) return 'warn';
  return 'info';
}

function keep(event: SecurityEvent): void {
  if (capacity <= 0) return;
  ring.push(event);
  // Trim in batches so the ring is not shifted on every event.
  if (ring.length > capacity + 256) ring = ring.slice(ring.length - capacity);
}

export function recordEvent(fields: EventFields): void {
  const unnumbered = { time: new Date().toISOString(), pid: process.pid, ...fields } as UnnumberedEvent;
  let event: UnnumberedEvent = unnumbered;
  if (sink) sink(unnumbered);
  else keep((event = { seq: ++seq, ...unnumbered } as SecurityEvent));
  const logger = log();
  const level = eventLogLevel(event);
  // pino's disabled levels are no-ops; checking first also skips building the message.
  if (logger.isLevelEnabled(level)) logger[level]({ event }, `${event.type} ${event.action}`);
}

/** Events recorded by another process (a worker's, at the primary): numbered here, in the order they arrive. */
export function ingestEvents(events: readonly UnnumberedEvent[]): void {
  for (const e of events) {
    // seq first in the JSON, and this process's number whatever the sender put there.
    const numbered = { seq: 0, ...e };
    numbered.seq = ++seq;
    keep(numbered);
  }
}

function matchesRule(e: SecurityEvent, rule: string): boolean {
  const matches = e['matches'];
  return Array.isArray(matches) && matches.some((m: { id?: unknown }) => String(m.id) === rule);
}

function matches(e: SecurityEvent, q: EventQuery): boolean {
  if (q.type && e.type !== q.type) return false;
  if (q.route && e.route !== q.route) return false;
  if (q.action && e.action !== q.action) return false;
  if (q.request_id && e.request_id !== q.request_id) return false;
  if (q.rule && !matchesRule(e, q.rule)) return false;
  return true;
}

/** The first index in ring[from..] whose seq is greater than `s` (the ring is in seq order). */
function indexAfter(from: number, s: number): number {
  let lo = from;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring[mid]!.seq <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function queryEvents(q: EventQuery): EventPage {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), MAX_LIMIT);
  const order = q.order ?? 'asc';
  const start = Math.max(0, ring.length - capacity);
  const first = start < ring.length ? ring[start]!.seq : seq + 1;
  // The kept events in range are ring[lo..hi).
  const lo = q.after === undefined ? start : indexAfter(start, q.after);
  const hi = q.before === undefined ? ring.length : indexAfter(start, q.before - 1);
  const out: SecurityEvent[] = [];
  let next: number;
  if (order === 'asc') {
    let i = lo;
    for (; i < hi && out.length < limit; i++) if (matches(ring[i]!, q)) out.push(ring[i]!);
    // Full page: continue after its last event. Range exhausted: after everything examined, which is the
    // highest seq in range so far (events recorded later get higher numbers still).
    if (out.length === limit) next = out[out.length - 1]!.seq;
    else next = Math.max(q.after ?? 0, Math.min(seq, (q.before ?? Infinity) - 1));
  } else {
    let i = hi - 1;
    for (; i >= lo && out.length < limit; i--) if (matches(ring[i]!, q)) out.push(ring[i]!);
    if (out.length === limit) next = out[out.length - 1]!.seq;
    // Nothing older is kept in range: continuing gives an empty page.
    else next = Math.min(q.before ?? seq + 1, Math.max(first, (q.after ?? 0) + 1));
  }
  return { events: out, order, next, first, last: seq };
}

/** The query parameters of GET /v1/events; a string says what is wrong with them. */
export function parseEventQuery(search: URLSearchParams): EventQuery | string {
  const problems: string[] = [];
  const num = (k: string, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const v = search.get(k);
    if (v === null) return undefined;
    if (!/^\d{1,16}$/.test(v) || Number(v) > max) {
      problems.push(`${k} must be a whole number from 0 to ${max}, got "${v.slice(0, 40)}"`);
      return undefined;
    }
    return Number(v);
  };
  const str = (k: string): string | undefined => search.get(k) || undefined;
  const order = search.get('order');
  const query: EventQuery = {
    after: num('after'),
    before: num('before'),
    order: order === 'desc' ? 'desc' : 'asc',
    limit: num('limit', MAX_LIMIT),
    type: str('type'),
    route: str('route'),
    action: str('action'),
    request_id: str('request_id'),
    rule: str('rule'),
  };
  if (order !== null && order !== 'asc' && order !== 'desc')
    problems.push(`order must be asc (oldest first) or desc (newest first), got "${order.slice(0, 40)}"`);
  if (query.limit === 0) problems.push(`limit must be from 1 to ${MAX_LIMIT}`);
  return problems.length > 0 ? problems.join('; ') : query;
}
