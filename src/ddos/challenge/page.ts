/**
 * The challenge page: a few kilobytes of HTML with one inline script and one inline style, no external resource.
 * The script is a constant, so its CSP hash is computed once at load; the per-request values (challenge,
 * difficulty, where to go back) travel in data attributes, HTML-escaped. The script hashes with
 * crypto.subtle.digest, which browsers only offer in secure contexts (HTTPS, localhost); over plain HTTP elsewhere
 * it falls back to the small SHA-256 below.
 */
import { createHash } from 'node:crypto';

/** Query parameters of the verify request, sent to the challenged path itself so that the same route answers. */
export const VERIFY_PARAM = '__bulwark_chl';
export const NONCE_PARAM = '__bulwark_nonce';
export const RETURN_PARAM = '__bulwark_return';

/** SHA-256 in plain JS for pages served over plain HTTP (no crypto.subtle there). Exported for its test. */
export const SHA256_JS = `function sha256(m) {
  var K = [0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,
    0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,
    0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,
    0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,
    0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,
    0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,
    0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2];
  var h = [0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19];
  var blocks = ((m.length + 8) >> 6) + 1, p = new Uint8Array(blocks * 64), w = new Int32Array(64), i, j;
  p.set(m);
  p[m.length] = 0x80;
  var bits = m.length * 8;
  p[p.length - 4] = bits >>> 24; p[p.length - 3] = bits >>> 16; p[p.length - 2] = bits >>> 8; p[p.length - 1] = bits;
  function r(x, n) { return (x >>> n) | (x << (32 - n)); }
  for (i = 0; i < p.length; i += 64) {
    for (j = 0; j < 16; j++) w[j] = (p[i + 4 * j] << 24) | (p[i + 4 * j + 1] << 16) | (p[i + 4 * j + 2] << 8) | p[i + 4 * j + 3];
    for (j = 16; j < 64; j++) {
      var s0 = r(w[j - 15], 7) ^ r(w[j - 15], 18) ^ (w[j - 15] >>> 3);
      var s1 = r(w[j - 2], 17) ^ r(w[j - 2], 19) ^ (w[j - 2] >>> 10);
      w[j] = (w[j - 16] + s0 + w[j - 7] + s1) | 0;
    }
    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (j = 0; j < 64; j++) {
      var t1 = (k + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[j] + w[j]) | 0;
      var t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
  }
  var out = new Uint8Array(32);
  for (i = 0; i < 8; i++) { out[4 * i] = h[i] >>> 24; out[4 * i + 1] = h[i] >>> 16; out[4 * i + 2] = h[i] >>> 8; out[4 * i + 3] = h[i]; }
  return out;
}`;

/**
 * Tries nonces 0, 1, 2... in batches (many digests in flight amortise the promise overhead of crypto.subtle),
 * then replaces the page with the verify request so that it does not stay in the history.
 */
const SCRIPT = `(function () {
  ${SHA256_JS}
  var el = document.getElementById('bwk');
  var challenge = el.getAttribute('data-challenge');
  var bits = Number(el.getAttribute('data-difficulty'));
  var verify = el.getAttribute('data-verify');
  var back = el.getAttribute('data-return');
  var progress = document.getElementById('bwk-progress');
  var status = document.getElementById('bwk-status');
  var subtle = window.crypto && window.crypto.subtle;
  var enc = new TextEncoder();
  function zeros(d) {
    for (var i = 0, n = 0; i < d.length; i++, n += 8) if (d[i] !== 0) return n + Math.clz32(d[i]) - 24;
    return d.length * 8;
  }
  function digest(bytes) {
    if (!subtle) return Promise.resolve(sha256(bytes));
    return subtle.digest('SHA-256', bytes).then(function (b) { return new Uint8Array(b); });
  }
  function found(nonce) {
    status.textContent = 'Done, taking you there.';
    location.replace(verify + '?${VERIFY_PARAM}=' + encodeURIComponent(challenge) + '&${NONCE_PARAM}=' + nonce +
      '&${RETURN_PARAM}=' + encodeURIComponent(back));
  }
  var next = 0, BATCH = 512;
  function round() {
    var tries = [];
    for (var i = 0; i < BATCH; i++) tries.push(digest(enc.encode(challenge + (next + i))));
    Promise.all(tries).then(function (ds) {
      for (var i = 0; i < ds.length; i++) if (zeros(ds[i]) >= bits) return found(next + i);
      next += BATCH;
      progress.value = Math.min(0.99, next / Math.pow(2, bits));
      round();
    }, function (e) { status.textContent = 'Your browser could not run the check: ' + e; });
  }
  round();
})();`;

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}
progress{width:100%}`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** No external resource of any kind; the verify request is a navigation to this origin. */
export const PAGE_CSP =
  `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; ` +
  `base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export interface PageValues {
  readonly challenge: string;
  readonly difficulty: number;
  /** The raw path the verify request goes to (the challenged path). */
  readonly verifyPath: string;
  /** The original request target, path and query. */
  readonly returnTo: string;
}

export function challengePage(v: PageValues): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Checking your browser</title><style>${STYLE}</style></head>
<body><main id="bwk" data-challenge="${escapeHtml(v.challenge)}" data-difficulty="${v.difficulty}" data-verify="${escapeHtml(v.verifyPath)}" data-return="${escapeHtml(v.returnTo)}">
<h1>Checking your browser</h1>
<p>This site is protecting itself from automated traffic. Your browser is solving a small puzzle; you will be taken
to the page in a moment.</p>
<progress id="bwk-progress" max="1"></progress><p id="bwk-status" aria-live="polite"></p>
<noscript><p>This check needs JavaScript. Enable it and reload the page.</p></noscript>
</main><script>${SCRIPT}</script></body></html>
`;
}
