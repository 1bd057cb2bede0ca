/**
 * HTTP/2 server options that depend on the Node version.
 *
 * Rapid reset (CVE-2023-44487): nghttp2 (1.57 and later, in every supported Node 20) ends a session whose client
 * sends RST_STREAM faster than a token bucket allows, 1000 at once then 33 per second. Node 22.10 and 23.0 let the
 * server set those two numbers (`streamResetBurst`, `streamResetRate`); Node 20 does not, so there the fixed values
 * apply whatever the config says, and a warning says so at start.
 *
 * CONTINUATION flood (VU#421644, April 2024): a client that sends endless CONTINUATION frames made servers buffer
 * or decode without bound. Node fixed it in 18.20.1, 20.12.1 and 21.7.2 (nghttp2 1.61 caps the frames per header
 * block; CVE-2024-27983 fixed a related crash). Older Node gets a start-up warning; nothing can be configured.
 */
import type http2 from 'node:http2';

function parse(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return [major, minor, patch];
}

function atLeast(version: string, wanted: [number, number, number]): boolean {
  const v = parse(version);
  for (let i = 0; i < 3; i++) if (v[i] !== wanted[i]) return v[i]! > wanted[i]!;
  return true;
}

/** Node 22.10+ and 23+ take `streamResetBurst` and `streamResetRate`. */
export function supportsStreamResetOptions(version = process.versions.node): boolean {
  const [major] = parse(version);
  return major >= 23 || (major === 22 && atLeast(version, [22, 10, 0]));
}

/** The CONTINUATION-flood fix: 18.20.1, 20.12.1, 21.7.2 and every release from 22 on. */
export function continuationFloodPatched(version = process.versions.node): boolean {
  const [major] = parse(version);
  if (major >= 22) return true;
  if (major === 21) return atLeast(version, [21, 7, 2]);
  if (major === 20) return atLeast(version, [20, 12, 1]);
  if (major === 18) return atLeast(version, [18, 20, 1]);
  return false;
}

export interface H2Limits {
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  readonly streamResetBurst?: number;
  readonly streamResetRate?: number;
}

/** The server options, and what the running Node cannot do of what was asked (for a start-up warning). */
export function h2ServerOptions(
  limits: H2Limits,
  version = process.versions.node,
): { options: http2.ServerOptions; warnings: string[] } {
  const warnings: string[] = [];
  const options: http2.ServerOptions & { streamResetBurst?: number; streamResetRate?: number } = {
    maxSessionMemory: 32,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListSize,
      enablePush: false,
    },
  };
  const wantsReset = limits.streamResetBurst !== undefined || limits.streamResetRate !== undefined;
  if (supportsStreamResetOptions(version)) {
    // Node applies them only when both are set; the defaults are nghttp2's own.
    options.streamResetBurst = limits.streamResetBurst ?? 1000;
    options.streamResetRate = limits.streamResetRate ?? 33;
  } else if (wantsReset) {
    warnings.push(
      `h2_stream_reset_burst/h2_stream_reset_rate need Node 22.10 or later; Node ${version} keeps nghttp2's ` +
        'fixed rapid-reset limits (1000 resets at once, then 33 per second)',
    );
  }
  if (!continuationFloodPatched(version)) {
    warnings.push(`Node ${version} predates the HTTP/2 CONTINUATION-flood fix (April 2024); use 20.12.1 or later`);
  }
  return { options, warnings };
}
