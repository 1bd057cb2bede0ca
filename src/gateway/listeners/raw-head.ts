/**
 * The request head of a connection Node's parser refused, read leniently from the bytes as they arrived (one char
 * per byte), so that the security event of a malformed request can still say what it asked for.
 */
import type { RefusedRequest } from '../../pipeline/index.js';

/** Reads a request head as the bytes arrived (one char per byte), leniently; undefined when there is no line. */
export function parseRawHead(
  raw: string,
): Omit<RefusedRequest, 'requestId' | 'client' | 'status' | 'reason'> | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const lines = head.split(/\r?\n/);
  const parts = lines[0]!.split(' ').filter((p) => p !== '');
  if (parts.length < 2) return undefined;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { method: parts[0]!, target: parts[1]!, protocol: parts[2] ?? 'HTTP/0.9', headers };
}
