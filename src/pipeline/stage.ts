/**
 * The one contract every protection implements. A request flows through the stages in the order of the stage
 * registry (src/stages.ts, above this folder); request hooks run in that order, response hooks and `onLog` in
 * reverse (like Envoy's filters).
 * A verdict is a value, not an exception. A hook with nothing to do is left out, not written empty: the runner
 * builds per-hook arrays at load, so an absent hook costs nothing per request.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Ports } from './ports.js';

export type Verdict =
  | { readonly kind: 'continue' }
  | {
      readonly kind: 'end';
      readonly status: number;
      /** Machine-readable, `<stage>:<why>`, e.g. `access:denied`. Goes to logs, events and the problem body. */
      readonly reason: string;
      readonly detail?: string;
      readonly headers?: OutgoingHttpHeaders;
      /** A body of the stage's own in place of the problem details (the challenge page, a redirect). */
      readonly body?: VerdictBody;
    };

export interface VerdictBody {
  readonly contentType: string;
  readonly text: string;
}

export const CONTINUE: Verdict = Object.freeze({ kind: 'continue' });

export function end(status: number, reason: string, detail?: string, headers?: OutgoingHttpHeaders): Verdict {
  return { kind: 'end', status, reason, detail, headers };
}

/** A plain value when the hook does no I/O: the runner awaits only real promises. */
export type Step = Verdict | Promise<Verdict>;

export interface ClientInfo {
  /** The client address after trusted-proxy resolution, IPv4-mapped IPv6 normalised to IPv4. */
  readonly address: string;
  /** The socket peer, which may be a trusted proxy. */
  readonly peer: string;
  readonly tls: boolean;
  /** `http/1.1`, `h2`, `h2c`. */
  readonly protocol: string;
}

export interface RequestHead {
  readonly method: string;
  /** The request target as received: path and query. */
  readonly target: string;
  readonly path: string;
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received, alternating, duplicates kept (Node's rawHeaders). */
  readonly rawHeaders: readonly string[];
  /** `1.1`, `1.0`, `2.0`. */
  readonly httpVersion: string;
}

export interface ResponseHead {
  status: number;
  headers: OutgoingHttpHeaders;
}

export interface Outcome {
  readonly status: number;
  /** Set when a stage or the gateway ended the request itself. */
  readonly reason?: string;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly origin?: string;
  readonly attempts: number;
}

export interface Exchange {
  readonly id: string;
  readonly route: string;
  readonly client: ClientInfo;
  readonly request: RequestHead;
  response?: ResponseHead;
  /** Per-stage state keyed by the stage's own symbol; stages never read each other's notes. */
  readonly notes: Map<symbol, unknown>;
  /** Labels a stage adds for logs and events (`annotate`); flat strings only. */
  readonly annotations: Record<string, string>;
  readonly signal: AbortSignal;
}

export interface Stage {
  /** Appears in logs, metrics and verdict reasons. */
  readonly name: string;
  /** When set, the gateway buffers the body (bounded by the route's body limit) and hands it over whole. */
  readonly holdsRequestBody?: boolean;
  onRequestHeaders?(x: Exchange): Step;
  onRequestBody?(x: Exchange, chunk: Uint8Array, last: boolean): Step;
  onResponseHeaders?(x: Exchange): Step;
  /**
   * Asked after the response headers passed every stage: how many body bytes the gateway should hold back from the
   * client (headers included) while onResponseBody decides, so that a verdict of `end` can still replace the whole
   * response. 0 streams as usual. A body longer than the largest answer streams once that much has been held.
   */
  responseHoldBytes?(x: Exchange): number;
  onResponseBody?(x: Exchange, chunk: Uint8Array, last: boolean): Step;
  /** Always runs, after the response is done or the client has gone. Must not throw or block. */
  onLog?(x: Exchange, outcome: Outcome): void;
  /** Releases timers and file watchers when the configuration it belongs to is retired. */
  close?(): void;
}

/** What a stage may use from the process it runs in. Kept small on purpose. */
export interface StageDeps {
  readonly routeName: string;
  /** Directory of the config file: relative paths in a stage's config resolve against it. */
  readonly baseDir: string;
  /** Services bound by provider modules (src/stages.ts), e.g. limits shared through Redis when it is configured. */
  readonly ports: Ports;
}

/** Config in, ready stage out. All compiling (CIDR tables, regexes, automata) happens in `create`. */
export interface StageFactory<C> {
  readonly name: string;
  create(config: C, deps: StageDeps): Stage;
}

export type IncomingHeaders = IncomingHttpHeaders;
