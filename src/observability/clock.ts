let lastMs = -1;
let lastIso = '';

/**
 * `new Date().toISOString()`, formatted once per millisecond: under a flood every request's log line asks for the
 * time, and formatting it cost ~0.4 µs each.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
