/**
 * Security events: one record per flagged or refused request, kept in a bounded ring per process for
 * `GET /v1/events`, and written to the process log. Callers mask secrets before recording.
 */
import { log } from './logger.js';

export interface SecurityEvent {
  /** Increasing per process; `after` pages through them. */
  readonly seq: number;
  readonly time: string;
  readonly pid: number;
  /** The capability that raised it: `waf`, `ratelimit`, `lists`... */
  readonly type: string;
  readonly request_id: string;
  readonly route: string;
  readonly client: string;
  readonly action: string;
  readonly [field: string]: unknown;
}

export interface EventQuery {
  readonly after?: number;
  readonly limit?: number;
  readonly type?: string;
  readonly route?: string;
  readonly action?: string;
  readonly request_id?: string;
  readonly rule?: string;
}

let capacity = 1000;
let ring: SecurityEvent[] = [];
let seq = 0;

export function setEventCapacity(n: number): void {
  capacity = n;
  if (ring.length > n) ring = ring.slice(ring.length - n);
}

export function recordEvent(fields: Omit<SecurityEvent, 'seq' | 'time' | 'pid'>): SecurityEvent {
  const event = { seq: ++seq, time: new Date().toISOString(), pid: process.pid, ...fields } as SecurityEvent;
  if (capacity > 0) {
    ring.push(event);
    // Trim in batches so the ring is not shifted on every event.
    if (ring.length > capacity + 256) ring = ring.slice(ring.length - capacity);
  }
  log().warn({ event }, `${event.type} ${event.action}`);
  return event;
}

function matchesRule(e: SecurityEvent, rule: string): boolean {
  const matches = e['matches'];
  return Array.isArray(matches) && matches.some((m: { id?: unknown }) => String(m.id) === rule);
}

export function queryEvents(q: EventQuery): { events: SecurityEvent[]; last: number } {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 10000);
  const out: SecurityEvent[] = [];
  const start = Math.max(0, ring.length - capacity);
  for (let i = start; i < ring.length && out.length < limit; i++) {
    const e = ring[i]!;
    if (q.after !== undefined && e.seq <= q.after) continue;
    if (q.type && e.type !== q.type) continue;
    if (q.route && e.route !== q.route) continue;
    if (q.action && e.action !== q.action) continue;
    if (q.request_id && e.request_id !== q.request_id) continue;
    if (q.rule && !matchesRule(e, q.rule)) continue;
    out.push(e);
  }
  return { events: out, last: seq };
}

export function parseEventQuery(search: URLSearchParams): EventQuery {
  const num = (k: string): number | undefined => {
    const v = search.get(k);
    return v === null || !/^\d+$/.test(v) ? undefined : Number(v);
  };
  const str = (k: string): string | undefined => search.get(k) ?? undefined;
  return {
    after: num('after'),
    limit: num('limit'),
    type: str('type'),
    route: str('route'),
    action: str('action'),
    request_id: str('request_id'),
    rule: str('rule'),
  };
}
