import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ChallengeSigner, CHALLENGE_TTL_MS, leadingZeroBits, solves, type Binding } from './tokens.js';

const signer = new ChallengeSigner(randomBytes(32));
const me: Binding = { prefix: '192.0.2.0/24', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140' };
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function solve(challenge: string, difficulty: number): string {
  for (let n = 0; ; n++) if (solves(challenge, String(n), difficulty)) return String(n);
}

test('leading zero bits of a digest', () => {
  assert.equal(leadingZeroBits(new Uint8Array([0x80, 0])), 0);
  assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x01])), 15);
  assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x00, 0x3f])), 18);
  assert.equal(leadingZeroBits(new Uint8Array(32)), 256);
  const d = createHash('sha256').update('abc').digest(); // ba7816bf...
  assert.equal(leadingZeroBits(d), 0);
});

test('a cookie is accepted for its own client until it expires', () => {
  const cookie = signer.issueCookie(me, 16, HOUR, T0);
  assert.match(cookie, /^\d+\.16\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(signer.checkCookie(cookie, me, 16, T0 + HOUR - 1000), { ok: true, difficulty: 16 });
  assert.deepEqual(signer.checkCookie(cookie, me, 12, T0), { ok: true, difficulty: 16 });
});

test('an expired cookie is refused', () => {
  const cookie = signer.issueCookie(me, 16, HOUR, T0);
  assert.deepEqual(signer.checkCookie(cookie, me, 16, T0 + HOUR), { ok: false, why: 'expired' });
});

test('a forged cookie is refused: edited expiry or difficulty, made-up MAC, other secret, garbage', () => {
  const cookie = signer.issueCookie(me, 12, HOUR, T0);
  const [expiry, , mac] = cookie.split('.') as [string, string, string];
  const later = `${Number(expiry) + 86_400}.12.${mac}`;
  assert.deepEqual(signer.checkCookie(later, me, 12, T0), { ok: false, why: 'bad_mac' });
  assert.deepEqual(signer.checkCookie(`${expiry}.20.${mac}`, me, 12, T0), { ok: false, why: 'bad_mac' });
  const flipped = mac.slice(0, -2) + (mac.at(-2) === 'A' ? 'B' : 'A') + mac.at(-1);
  assert.deepEqual(signer.checkCookie(`${expiry}.12.${flipped}`, me, 12, T0), { ok: false, why: 'bad_mac' });
  const other = new ChallengeSigner(randomBytes(32)).issueCookie(me, 12, HOUR, T0);
  assert.deepEqual(signer.checkCookie(other, me, 12, T0), { ok: false, why: 'bad_mac' });
  for (const junk of ['', 'x', '1.2', `${expiry}.12.${mac}.x`, `${expiry}.12.short`, 'a'.repeat(500)])
    assert.deepEqual(signer.checkCookie(junk, me, 12, T0), { ok: false, why: 'malformed' }, junk);
});

test('a transplanted cookie is refused: another /24, another user agent', () => {
  const cookie = signer.issueCookie(me, 16, HOUR, T0);
  assert.deepEqual(signer.checkCookie(cookie, { ...me, prefix: '198.51.100.0/24' }, 16, T0), {
    ok: false,
    why: 'bad_mac',
  });
  assert.deepEqual(signer.checkCookie(cookie, { ...me, userAgent: 'curl/8.5.0' }, 16, T0), {
    ok: false,
    why: 'bad_mac',
  });
  assert.deepEqual(signer.checkCookie(cookie, { ...me, prefix: '20010db800010002::/64' }, 16, T0), {
    ok: false,
    why: 'bad_mac',
  });
});

test('a cookie earned at a lower difficulty does not open a harder route', () => {
  const cookie = signer.issueCookie(me, 12, HOUR, T0);
  assert.deepEqual(signer.checkCookie(cookie, me, 16, T0), { ok: false, why: 'too_easy' });
});

test('a challenge solved by its own client passes; wrong nonce, other client, old or forged challenges fail', () => {
  const challenge = signer.issueChallenge(me, 12, T0);
  const nonce = solve(challenge, 12);
  assert.deepEqual(signer.checkSolution(challenge, nonce, me, 12, T0 + 2000), { ok: true, difficulty: 12 });
  let wrong = 0;
  while (solves(challenge, String(wrong), 12)) wrong++;
  assert.deepEqual(signer.checkSolution(challenge, String(wrong), me, 12, T0), { ok: false, why: 'wrong_nonce' });
  assert.deepEqual(signer.checkSolution(challenge, nonce, { ...me, prefix: '198.51.100.0/24' }, 12, T0), {
    ok: false,
    why: 'bad_mac',
  });
  assert.deepEqual(signer.checkSolution(challenge, nonce, { ...me, userAgent: 'other' }, 12, T0), {
    ok: false,
    why: 'bad_mac',
  });
  assert.deepEqual(signer.checkSolution(challenge, nonce, me, 12, T0 + CHALLENGE_TTL_MS + 1000), {
    ok: false,
    why: 'expired',
  });
  assert.deepEqual(signer.checkSolution(challenge, nonce, me, 16, T0), { ok: false, why: 'too_easy' });
  // A client that lowers the difficulty in the challenge breaks its MAC.
  const easier = challenge.replace('.12.', '.8.');
  assert.deepEqual(signer.checkSolution(easier, solve(easier, 8), me, 8, T0), { ok: false, why: 'bad_mac' });
  assert.deepEqual(signer.checkSolution(challenge, '-1', me, 12, T0), { ok: false, why: 'malformed' });
  assert.deepEqual(signer.checkSolution(challenge, '1'.repeat(17), me, 12, T0), { ok: false, why: 'malformed' });
  // A challenge is not a cookie, nor the other way round: different keys.
  assert.deepEqual(signer.checkCookie(signer.issueChallenge(me, 12, T0 + 10 * HOUR), me, 12, T0), {
    ok: false,
    why: 'bad_mac',
  });
});
