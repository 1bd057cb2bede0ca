/**
 * The two signed strings that keep the challenge stateless on the server:
 *
 * - the challenge, `<issued>.<difficulty>.<mac>`: HMAC over the issue time, the difficulty, the client's prefix
 *   (/24 or /64) and a hash of its User-Agent. The browser must find a nonce such that SHA-256(challenge || nonce)
 *   starts with `difficulty` zero bits. Valid for CHALLENGE_TTL_MS after issue.
 * - the cookie, `<expiry>.<difficulty>.<mac>`: HMAC over the same binding and the expiry. A cookie copied to
 *   another /24 or another browser fails its MAC, as does any edit of the expiry or difficulty.
 *
 * The two MACs use keys derived from the one secret under different labels, so neither can stand for the other.
 * Every comparison of a MAC is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How long a browser has to solve a challenge it was given. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Issue times this far in the future are accepted (clock skew between nodes sharing a secret). */
const CLOCK_SKEW_MS = 30_000;
const MAC_BYTES = 32;
const NONCE = /^[0-9]{1,16}$/;

export interface Binding {
  /** `clientPrefix(address)`: 192.0.2.0/24, 20010db800010002::/64. */
  readonly prefix: string;
  readonly userAgent: string;
}

export type Refusal = 'malformed' | 'bad_mac' | 'expired' | 'too_easy' | 'wrong_nonce';
export type Checked =
  { readonly ok: true; readonly difficulty: number } | { readonly ok: false; readonly why: Refusal };

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The proof: SHA-256 over the challenge's bytes followed by the nonce's decimal digits. */
export function solves(challenge: string, nonce: string, difficulty: number): boolean {
  return leadingZeroBits(createHash('sha256').update(challenge).update(nonce).digest()) >= difficulty;
}

function uaHash(userAgent: string): string {
  return createHash('sha256').update(userAgent).digest('base64url');
}

/** Splits `<seconds>.<difficulty>.<mac>`; undefined when the shape is wrong. */
function parse(token: string): { seconds: number; difficulty: number; mac: Buffer } | undefined {
  if (token.length > 80) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !/^[0-9]{1,12}$/.test(parts[0]!) || !/^[0-9]{1,2}$/.test(parts[1]!)) return undefined;
  const mac = Buffer.from(parts[2]!, 'base64url');
  if (mac.length !== MAC_BYTES) return undefined;
  return { seconds: Number(parts[0]), difficulty: Number(parts[1]), mac };
}

export class ChallengeSigner {
  private readonly challengeKey: Buffer;
  private readonly cookieKey: Buffer;

  constructor(secret: Buffer) {
    this.challengeKey = createHmac('sha256', secret).update('bulwark challenge v1').digest();
    this.cookieKey = createHmac('sha256', secret).update('bulwark cookie v1').digest();
  }

  private mac(key: Buffer, seconds: number, difficulty: number, b: Binding): Buffer {
    return createHmac('sha256', key)
      .update(`${seconds}|${difficulty}|${b.prefix}|${uaHash(b.userAgent)}`)
      .digest();
  }

  issueChallenge(b: Binding, difficulty: number, nowMs: number): string {
    const issued = Math.floor(nowMs / 1000);
    return `${issued}.${difficulty}.${this.mac(this.challengeKey, issued, difficulty, b).toString('base64url')}`;
  }

  /** A solution passes when the challenge is ours, for this client, recent, hard enough and solved by the nonce. */
  checkSolution(challenge: string, nonce: string, b: Binding, minDifficulty: number, nowMs: number): Checked {
    const t = parse(challenge);
    if (!t || !NONCE.test(nonce)) return { ok: false, why: 'malformed' };
    if (!timingSafeEqual(t.mac, this.mac(this.challengeKey, t.seconds, t.difficulty, b)))
      return { ok: false, why: 'bad_mac' };
    const issuedMs = t.seconds * 1000;
    if (issuedMs > nowMs + CLOCK_SKEW_MS || nowMs - issuedMs > CHALLENGE_TTL_MS) return { ok: false, why: 'expired' };
    if (t.difficulty < minDifficulty) return { ok: false, why: 'too_easy' };
    if (!solves(challenge, nonce, t.difficulty)) return { ok: false, why: 'wrong_nonce' };
    return { ok: true, difficulty: t.difficulty };
  }

  issueCookie(b: Binding, difficulty: number, ttlMs: number, nowMs: number): string {
    const expiry = Math.floor((nowMs + ttlMs) / 1000);
    return `${expiry}.${difficulty}.${this.mac(this.cookieKey, expiry, difficulty, b).toString('base64url')}`;
  }

  /** A cookie passes when it is ours, bound to this client, unexpired and earned at this difficulty or more. */
  checkCookie(value: string, b: Binding, minDifficulty: number, nowMs: number): Checked {
    const t = parse(value);
    if (!t) return { ok: false, why: 'malformed' };
    if (!timingSafeEqual(t.mac, this.mac(this.cookieKey, t.seconds, t.difficulty, b)))
      return { ok: false, why: 'bad_mac' };
    if (t.seconds * 1000 <= nowMs) return { ok: false, why: 'expired' };
    if (t.difficulty < minDifficulty) return { ok: false, why: 'too_easy' };
    return { ok: true, difficulty: t.difficulty };
  }
}
