/**
 * The challenge stage. A request passes with a valid cookie; otherwise a browser (Accept names text/html) gets
 * the proof-of-work page and any other client a 429. The page's answer comes back to the challenged path itself
 * with reserved query parameters (so the same route, hence this stage, sees it) and earns a cookie and a 303
 * back to the original target. Nothing is stored per client: challenge and cookie carry their own HMAC.
 *
 * The page answers 403, as Cloudflare's challenges do: a 2xx would let caches, crawlers and scripts that check
 * `response.ok` take the interstitial for the page itself.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { recordEvent } from '../../observability/index.js';
import { CONTINUE, type Exchange, type Stage, type Verdict } from '../../pipeline/index.js';
import { challengeMetrics } from './metrics.js';
import { clientPrefix } from '../../lib/ip.js';
import { challengePage, NONCE_PARAM, PAGE_CSP, RETURN_PARAM, VERIFY_PARAM } from './page.js';
import type { Binding, ChallengeSigner, Refusal } from './tokens.js';
import { underAttack } from './under-attack.js';

export const COOKIE_NAME = 'bulwark_challenge';
/** What API clients are told: come back later (or from a browser). The challenge has no natural end time. */
export const API_RETRY_AFTER_S = 30;

const VERIFY_PREFIX = `${VERIFY_PARAM}=`;
const MITIGATED = { 'bulwark-mitigated': 'challenge' } as const;

/** True when the client asks for HTML: browsers navigating do, `curl` (Accept: *\/*) and API clients do not. */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const semi = part.indexOf(';');
    const type = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (type !== 'text/html' && type !== 'application/xhtml+xml') continue;
    // "text/html;q=0" says "not HTML".
    if (semi < 0 || !/;\s*q\s*=\s*0(?:\.0*)?\s*(?:;|$)/i.test(part.slice(semi))) return true;
  }
  return false;
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(';') : header;
  if (!text.includes(name)) return undefined;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Path and query of the target; absolute-form targets (`http://host/p?q`) lose their scheme and authority. */
function pathAndQuery(target: string): string {
  if (target.charCodeAt(0) === 47) return target;
  try {
    const u = new URL(target);
    return u.pathname + u.search;
  } catch {
    return '/';
  }
}

/** Where a solved challenge may send the browser: only the path it was challenged on, never another site. */
function safeReturn(returnTo: string | null, rawPath: string): string {
  if (returnTo === null || !returnTo.startsWith('/') || returnTo.startsWith('//')) return rawPath;
  for (let i = 0; i < returnTo.length; i++) {
    const c = returnTo.charCodeAt(i);
    // Visible ASCII only: controls could split headers and Node refuses other bytes in a header (it would throw);
    // backslashes read as slashes in browsers ("/\\evil.example").
    if (c <= 0x20 || c >= 0x7f || c === 0x5c) return rawPath;
  }
  const q = returnTo.indexOf('?');
  return (q < 0 ? returnTo : returnTo.slice(0, q)) === rawPath ? returnTo : rawPath;
}

// At most one event per action and client prefix a minute: a flood must not become a log flood.
const EVENT_WINDOW_MS = 60_000;
const MAX_EVENT_KEYS = 10_000;
let eventSeen = new Map<string, number>();

function event(x: Exchange, prefix: string, action: string, extra: Record<string, unknown> = {}): void {
  const key = `${action}|${prefix}`;
  const now = Date.now();
  const last = eventSeen.get(key);
  if (last !== undefined && now - last < EVENT_WINDOW_MS) return;
  if (eventSeen.size >= MAX_EVENT_KEYS) eventSeen = new Map();
  eventSeen.set(key, now);
  recordEvent({
    type: 'challenge',
    request_id: x.id,
    route: x.route,
    client: x.client.address,
    action,
    prefix,
    ...extra,
  });
}

export interface ChallengeOptions {
  readonly route: string;
  /** `under_attack`: the stage acts only while the mode is on. */
  readonly onlyUnderAttack: boolean;
  /** Unset: the under-attack difficulty. */
  readonly difficulty?: number;
  readonly cookieTtlMs: number;
  readonly signer: ChallengeSigner;
}

export class ChallengeStage implements Stage {
  readonly name = 'challenge';
  private readonly counters;
  private readonly cookieAttributes: string;

  constructor(private readonly o: ChallengeOptions) {
    const m = challengeMetrics.outcomes;
    this.counters = {
      issued: m.labels(o.route, 'issued'),
      solved: m.labels(o.route, 'solved'),
      failed: m.labels(o.route, 'failed'),
      refused: m.labels(o.route, 'refused'),
    };
    this.cookieAttributes = `; Path=/; Max-Age=${Math.floor(o.cookieTtlMs / 1000)}; HttpOnly; SameSite=Lax`;
  }

  onRequestHeaders(x: Exchange): Verdict {
    let difficulty = this.o.difficulty;
    if (this.o.onlyUnderAttack || difficulty === undefined) {
      const mode = underAttack();
      if (this.o.onlyUnderAttack && !mode.enabled) return CONTINUE;
      difficulty ??= mode.difficulty;
    }
    const headers = x.request.headers;
    const b: Binding = { prefix: clientPrefix(x.client.address), userAgent: headers['user-agent'] ?? '' };
    const now = Date.now();
    const target = pathAndQuery(x.request.target);
    const q = target.indexOf('?');
    if (q >= 0 && target.startsWith(VERIFY_PREFIX, q + 1)) return this.verify(x, b, target, q, difficulty, now);

    const cookie = cookieValue(headers.cookie, COOKIE_NAME);
    if (cookie !== undefined) {
      const c = this.o.signer.checkCookie(cookie, b, difficulty, now);
      if (c.ok) return CONTINUE;
      // Forged, expired, or copied from another network or browser: challenged again like a newcomer.
      event(x, b.prefix, 'cookie_rejected', { why: c.why });
    }
    return this.challenge(x, b, target, difficulty, now, 'challenge:issued');
  }

  private challenge(x: Exchange, b: Binding, target: string, difficulty: number, now: number, reason: string): Verdict {
    if (!acceptsHtml(x.request.headers.accept)) {
      this.counters.refused.inc();
      event(x, b.prefix, 'refused');
      return {
        kind: 'end',
        status: 429,
        reason: 'challenge:refused',
        detail:
          'This site asks clients to pass a browser check (JavaScript and cookies). Open it in a browser, ' +
          `or retry after ${API_RETRY_AFTER_S} s.`,
        headers: { 'retry-after': String(API_RETRY_AFTER_S), ...MITIGATED },
      };
    }
    this.counters.issued.inc();
    event(x, b.prefix, 'issued', { difficulty });
    const q = target.indexOf('?');
    const page = challengePage({
      challenge: this.o.signer.issueChallenge(b, difficulty, now),
      difficulty,
      verifyPath: q < 0 ? target : target.slice(0, q),
      returnTo: target,
    });
    return {
      kind: 'end',
      status: 403,
      reason,
      headers: { 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff', ...MITIGATED },
      body: { contentType: 'text/html; charset=utf-8', text: page },
    };
  }

  private verify(x: Exchange, b: Binding, target: string, q: number, difficulty: number, now: number): Verdict {
    const rawPath = target.slice(0, q);
    const params = new URLSearchParams(target.slice(q + 1));
    const checked = this.o.signer.checkSolution(
      params.get(VERIFY_PARAM) ?? '',
      params.get(NONCE_PARAM) ?? '',
      b,
      difficulty,
      now,
    );
    const returnTo = safeReturn(params.get(RETURN_PARAM), rawPath);
    if (!checked.ok) return this.failed(x, b, returnTo, difficulty, now, checked.why);
    this.counters.solved.inc();
    event(x, b.prefix, 'solved', { difficulty: checked.difficulty });
    const cookie = this.o.signer.issueCookie(b, checked.difficulty, this.o.cookieTtlMs, now);
    const headers: OutgoingHttpHeaders = {
      location: returnTo,
      'set-cookie': `${COOKIE_NAME}=${cookie}${this.cookieAttributes}${x.client.tls ? '; Secure' : ''}`,
    };
    return {
      kind: 'end',
      status: 303,
      reason: 'challenge:solved',
      headers,
      body: { contentType: 'text/plain; charset=utf-8', text: 'Browser check passed.\n' },
    };
  }

  private failed(x: Exchange, b: Binding, returnTo: string, difficulty: number, now: number, why: Refusal): Verdict {
    this.counters.failed.inc();
    event(x, b.prefix, 'failed', { why });
    // A fresh challenge for the original target: an honest browser whose challenge expired simply solves again.
    return this.challenge(x, b, returnTo, difficulty, now, 'challenge:failed');
  }
}
