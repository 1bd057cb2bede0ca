/**
 * Guards against clients that hold a connection by being slow rather than by being many:
 *
 * - body_min_rate: after a grace period, a request body must keep arriving at a minimum average rate (Kestrel's
 *   MinRequestBodyDataRate). The clock only runs while the gateway is waiting for the client, that is while
 *   nothing received is still unread; time spent waiting on a slow origin or a stage is not the client's.
 *   A slow body gets 408 when no response has started, then the connection (HTTP/1.1) or stream (HTTP/2) is closed.
 * - send_timeout: bytes are waiting to be written to the client and none were taken for this long (nginx's
 *   send_timeout): the connection is destroyed. A client that does not read keeps a response's memory and an
 *   origin connection busy otherwise.
 *
 * One timer per listener samples every watched request and connection a few times per deadline; nothing is
 * scheduled per request. A watched body's request id is decided here, when the watch starts, through the function
 * the listener passes (the gateway's, which the handler would use); the listener hands that id to the handler, so
 * a 408 and everything else about the request carry one id. Requests without a body never ask for it here. Each trip counts in bulwark_gateway_slow_guard_trips_total{listener,guard} and raises at most one
 * security event per client address, guard and minute.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import client from 'prom-client';
import { sendProblem } from '../proxy/problem-response.js';
import { GuardEvents, normaliseAddress } from './guard-events.js';

export type SlowGuard = 'body_min_rate' | 'send_timeout' | 'max_requests';

const trips = new client.Counter({
  name: 'bulwark_gateway_slow_guard_trips_total',
  help: 'Connections or streams closed by a slow-client guard, by listener and guard (body_min_rate, send_timeout, max_requests).',
  labelNames: ['listener', 'guard'] as const,
});

export interface SlowGuardLimits {
  /** Bytes per second a request body must average once the grace period is over; 0: off. */
  readonly bodyMinRate: number;
  readonly bodyMinRateGraceMs: number;
  /** No write progress for this long while bytes wait: the connection is destroyed; 0: off. */
  readonly sendTimeoutMs: number;
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

interface BodyWatch {
  readonly req: Request;
  readonly res: Response;
  readonly stream?: ServerHttp2Stream;
  readonly address: string;
  /** The request's id, the one the handler answers and logs with. */
  readonly requestId: string;
  /** Bytes received so far: from the socket's counter (HTTP/1.1) or counted on the stream (HTTP/2). */
  readonly received: () => number;
  /** Milliseconds spent waiting for the client. */
  waitedMs: number;
  at: number;
}

/** What the send timeout watches: a socket (HTTP/1.1) or a stream (HTTP/2), and how to end its connection. */
interface SendWatch {
  readonly target: { readonly writableLength: number };
  /**
   * Grows whenever the client took bytes. Comparing writableLength alone is not enough: a 64 KiB chunk taken
   * and the next 64 KiB chunk queued look the same to two samples.
   */
  readonly progress: () => number;
  readonly address: string;
  readonly destroy: () => void;
  /** progress() when it last grew, and when. */
  seen: number;
  since: number;
}

/**
 * A reset, not a close: a closed socket keeps its unsent bytes in the kernel, retried against a zero window for
 * minutes (nginx's reset_timedout_connection has the same reason). TLS sockets have no TCP handle of their own
 * to reset; they are destroyed.
 */
function resetOrDestroy(socket: net.Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export class SlowGuards {
  private readonly bodies = new Set<BodyWatch>();
  private readonly senders = new Set<SendWatch>();
  private readonly events: GuardEvents;
  private readonly timer?: NodeJS.Timeout;

  constructor(
    private readonly listener: string,
    private readonly limits: SlowGuardLimits,
  ) {
    this.events = new GuardEvents(listener);
    const deadlines = [limits.bodyMinRate > 0 ? limits.bodyMinRateGraceMs : 0, limits.sendTimeoutMs].filter(
      (ms) => ms > 0,
    );
    if (deadlines.length === 0) return;
    // Sampled four times per the shortest deadline, between 100 ms and 1 s: a trip comes at most a quarter late.
    const every = Math.min(1000, Math.max(100, Math.floor(Math.min(...deadlines) / 4)));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  /**
   * Watches the body of a request that has one (Content-Length > 0, chunked, or an HTTP/2 stream left open).
   * Returns the request id it asked `idOf` for when it watches (the caller must give it to the handler), else
   * undefined (the handler decides the id itself).
   */
  watchBody<R extends Request>(req: R, res: Response, idOf: (req: R) => string): string | undefined {
    if (this.limits.bodyMinRate <= 0 || req.complete) return undefined;
    const stream = (req as Partial<Http2ServerRequest>).stream as ServerHttp2Stream | undefined;
    let received: () => number;
    if (stream) {
      if (stream.endAfterHeaders) return undefined;
      // Counted where the compatibility layer hands each chunk to the request. A 'data' listener on the stream
      // would not do: the layer attaches its own only at the first read, and chunks flowing before it are lost.
      let bytes = 0;
      const r = req as Readable;
      const push = r.push;
      r.push = function (chunk: unknown, encoding?: BufferEncoding) {
        if (chunk) bytes += (chunk as Buffer).length;
        return push.call(this, chunk, encoding);
      };
      received = () => bytes + stream.readableLength;
    } else {
      const h = (req as IncomingMessage).headers;
      if (h['transfer-encoding'] === undefined && !(Number(h['content-length'] ?? 0) > 0)) return undefined;
      // One request at a time reads an HTTP/1.1 connection, so the socket's counter is this body's progress.
      const socket = req.socket as net.Socket;
      const base = socket.bytesRead;
      received = () => socket.bytesRead - base;
    }
    const requestId = idOf(req);
    const w: BodyWatch = {
      req,
      res,
      stream,
      address: normaliseAddress(req.socket?.remoteAddress ?? ''),
      requestId,
      received,
      waitedMs: 0,
      at: performance.now(),
    };
    this.bodies.add(w);
    res.once('close', () => this.bodies.delete(w));
    return requestId;
  }

  /** Watches what waits to be written to an HTTP/1.1 connection. */
  watchSocket(socket: net.Socket): void {
    if (this.limits.sendTimeoutMs <= 0 || socket.destroyed) return;
    // bytesWritten counts what was handed to the socket, writableLength what of it is not yet taken by the kernel.
    const progress = () => socket.bytesWritten - socket.writableLength;
    const w = this.sender(socket, progress, socket.remoteAddress ?? '', () => resetOrDestroy(socket));
    socket.once('close', () => this.senders.delete(w));
  }

  /** Watches what waits to be written to an HTTP/2 stream; a stalled stream ends its whole connection. */
  watchStream(stream: ServerHttp2Stream): void {
    if (this.limits.sendTimeoutMs <= 0 || stream.destroyed) return;
    const session = stream.session;
    // A stream has no byte counter; writers wait for 'drain' after every refused write, so drains mark progress.
    let drains = 0;
    stream.on('drain', () => drains++);
    const progress = () => drains;
    const w = this.sender(stream, progress, session?.socket?.remoteAddress ?? '', () => session?.destroy());
    stream.once('close', () => this.senders.delete(w));
  }

  /** Counts a trip of a guard enforced elsewhere (max_requests) without an event: recycling is not an attack. */
  count(guard: SlowGuard): void {
    trips.labels(this.listener, guard).inc();
  }

  close(): void {
    clearInterval(this.timer);
    this.bodies.clear();
    this.senders.clear();
  }

  private sender(target: SendWatch['target'], progress: () => number, address: string, destroy: () => void): SendWatch {
    const w: SendWatch = {
      target,
      progress,
      address: normaliseAddress(address),
      destroy,
      seen: progress(),
      since: performance.now(),
    };
    this.senders.add(w);
    return w;
  }

  private tick(): void {
    const now = performance.now();
    const { bodyMinRate, bodyMinRateGraceMs, sendTimeoutMs } = this.limits;
    for (const w of this.bodies) {
      if (w.req.complete) {
        this.bodies.delete(w);
        continue;
      }
      const elapsed = now - w.at;
      w.at = now;
      // Unread bytes mean the gateway is the one not reading (a slow origin, a pending stage): not the client's time.
      if (w.req.readableLength > 0 || (w.stream?.readableLength ?? 0) > 0) continue;
      w.waitedMs += elapsed;
      if (w.waitedMs >= bodyMinRateGraceMs && (w.received() * 1000) / w.waitedMs < bodyMinRate) {
        this.bodies.delete(w);
        this.trip('body_min_rate', w.address, { min_rate: bodyMinRate, received: w.received() });
        this.refuseBody(w);
      }
    }
    for (const w of this.senders) {
      const length = w.target.writableLength;
      const progress = w.progress();
      if (length === 0 || progress !== w.seen) {
        w.seen = progress;
        w.since = now;
      } else if (now - w.since >= sendTimeoutMs) {
        this.senders.delete(w);
        this.trip('send_timeout', w.address, { waiting_bytes: length });
        w.destroy();
      }
    }
  }

  private trip(guard: SlowGuard, address: string, fields: Record<string, unknown>): void {
    trips.labels(this.listener, guard).inc();
    this.events.report(address, 'closed', guard, fields);
  }

  /** 408 when nothing of the response has gone out, then the connection (HTTP/1.1) or the stream (HTTP/2) ends. */
  private refuseBody(w: BodyWatch): void {
    const stream = w.stream;
    const socket = w.req.socket as net.Socket;
    if (w.res.headersSent) {
      if (stream) stream.close(http2.constants.NGHTTP2_CANCEL);
      else socket.destroy();
      return;
    }
    const detail = `The request body arrived slower than ${this.limits.bodyMinRate} bytes per second.`;
    if (stream) {
      sendProblem(w.res, 408, 'BWK_ERR_BODY_TOO_SLOW', detail, w.requestId);
      // RFC 9113 §8.1: a complete response may end a request early, then RST_STREAM(NO_ERROR). Node sends the
      // reset once the response is written; the session and its other streams go on.
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    w.res.once('finish', () => {
      socket.destroySoon();
      // A client that does not read the 408 either: the socket goes anyway.
      setTimeout(() => socket.destroy(), 2000).unref();
    });
    sendProblem(w.res, 408, 'BWK_ERR_BODY_TOO_SLOW', detail, w.requestId, { connection: 'close' });
  }
}
