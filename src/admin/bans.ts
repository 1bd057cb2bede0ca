/**
 * The bans endpoints of the admin API: list, add, lift. Validation happens here, with messages that say what was
 * expected; the table itself (src/ddos/bans) trusts what it is given.
 */
import type http from 'node:http';
import type { ErrorCode } from '../errors.js';
import { covers, parseTarget, type Ban, type BanTable } from '../ddos/index.js';

/** What the admin API needs of a ban table: the node's own in one process, the primary's in a cluster. */
export type BanAdmin = Pick<BanTable, 'list' | 'ban' | 'unban' | 'get'>;

export type AdminAnswer =
  { status: number; body: unknown } | { status: number; error: { code: ErrorCode; message: string } };

const MAX_BODY_BYTES = 4096;
const MAX_DURATION_MS = 365 * 86_400_000;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function invalid(message: string, status = 400): AdminAnswer {
  return { status, error: { code: 'BWK_ERR_BAN_INVALID', message } };
}

function view(ban: Ban, now: number) {
  return {
    target: ban.target,
    until: new Date(ban.until).toISOString(),
    expires_in: Math.max(0, Math.ceil((ban.until - now) / 1000)),
    reason: ban.reason,
    source: ban.source,
    strikes: ban.strikes,
    node: ban.node,
  };
}

/** Milliseconds, or an error message. */
export function parseBanDuration(value: unknown): number | string {
  const expected = 'expected a duration such as "90s", "10m", "12h", "7d" or a number of milliseconds';
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value;
  else if (typeof value === 'string' && DURATION_RE.test(value)) {
    const m = DURATION_RE.exec(value)!;
    ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  } else return `duration ${JSON.stringify(value) ?? 'is missing'}: ${expected}`;
  if (ms < 1000) return `duration ${JSON.stringify(value)} is shorter than one second`;
  if (ms > MAX_DURATION_MS) return `duration ${JSON.stringify(value)} is longer than 365 days`;
  return Math.round(ms);
}

/** GET /v1/bans[?target=CIDR][&covers=ADDRESS][&source=manual|auto] */
export function listBans(table: BanAdmin, search: URLSearchParams): AdminAnswer {
  const now = Date.now();
  let bans = table.list(now);
  const target = search.get('target');
  if (target !== null) {
    const t = parseTarget(target);
    if (typeof t === 'string') return invalid(`target: ${t}`);
    bans = bans.filter((b) => b.target === t.text);
  }
  const address = search.get('covers');
  if (address !== null) {
    const c = parseTarget(address);
    if (typeof c === 'string') return invalid(`covers: ${c}`);
    bans = bans.filter((b) => {
      const t = parseTarget(b.target);
      return typeof t !== 'string' && covers(t, c);
    });
  }
  const source = search.get('source');
  if (source !== null) bans = bans.filter((b) => b.source === source);
  return { status: 200, body: { bans: bans.map((b) => view(b, now)) } };
}

/** POST /v1/bans {target, duration, reason?} */
export function addBan(table: BanAdmin, text: string): AdminAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid('the body is not JSON; expected {"target": "203.0.113.7", "duration": "1h", "reason": "..."}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return invalid('expected a JSON object {"target": ..., "duration": ..., "reason"?: ...}');
  const { target, duration, reason, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return invalid(`unknown field "${unknown[0]}"; expected target, duration and reason`);
  if (typeof target !== 'string') return invalid('target is missing; expected an IP address or CIDR string');
  const t = parseTarget(target);
  if (typeof t === 'string') return invalid(`target: ${t}`);
  const ms = parseBanDuration(duration);
  if (typeof ms === 'string') return invalid(ms);
  if (
    reason !== undefined &&
    (typeof reason !== 'string' || reason.length > 200 || [...reason].some((ch) => ch < ' ' || ch === '\x7f'))
  )
    return invalid('reason must be a string of at most 200 printable characters');
  const now = Date.now();
  const ban: Ban = {
    target: t.text,
    until: now + ms,
    reason: reason === undefined || reason === '' ? 'manual' : reason,
    source: 'manual',
    strikes: 0,
  };
  table.ban(ban, 'local', {}, now);
  return { status: 201, body: view(table.get(t.text) ?? ban, now) };
}

/** DELETE /v1/bans/<url-encoded target> */
export function removeBan(table: BanAdmin, encoded: string): AdminAnswer {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return invalid('the target in the path is not valid percent-encoding');
  }
  const t = parseTarget(text);
  if (typeof t === 'string') return invalid(`target: ${t}`);
  if (!table.unban(t.text, 'local'))
    return { status: 404, error: { code: 'BWK_ERR_BAN_NOT_FOUND', message: `${t.text} is not banned` } };
  return { status: 200, body: { status: 'unbanned', target: t.text } };
}

/** The request body, at most 4 KiB; undefined when it is longer (the caller answers 413). */
export function readSmallBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
