/**
 * One data-plane listener. A front server owns the port: plain HTTP/1.1 listens directly; TLS and h2c put a
 * front (tls.Server, or net.Server sniffing the HTTP/2 preface) before two inner servers, one HTTP/1.1 and one
 * HTTP/2, so that both protocols share limits, timeouts and the same request handler.
 */
import cluster from 'node:cluster';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { randomUUID } from 'node:crypto';
import { splitAddress } from '../../config/index.js';
import { BulwarkError } from '../../errors.js';
import { log, metrics } from '../../observability/index.js';
import { ConnectionGuard } from './connection-guard.js';
import { h2ServerOptions } from './h2-options.js';
import { SlowGuards } from './slow-guards.js';
import type { ClientRequest, ClientResponse } from '../messages.js';
import { problemBody, problemHeaders, rawProblemResponse } from '../problem.js';
import type { ListenerConfig } from '../schema.js';
import { loadCertificates, selectContext, type CertificateTable } from './tls.js';
import type { RefusedRequest } from '../../pipeline/index.js';
import { parseRawHead } from './raw-head.js';

export interface ListenerLimits {
  readonly headerBytes: number;
  readonly uriBytes: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Concurrent connections per client address (the TCP peer), per worker; undefined: no limit. */
  readonly connectionsPerClient?: number;
  /** Concurrent connections on this listener, per worker; undefined: no limit. */
  readonly connectionsTotal?: number;
  /** New connections per second per client address, per worker; undefined: no limit. */
  readonly newConnectionsPerSecondPerClient?: number;
  /** Slow POST: minimum average request-body rate in bytes/s after the grace period; 0: off. */
  readonly bodyMinRate?: number;
  readonly bodyMinRateGraceMs?: number;
  /** Slow read: no write progress for this long while bytes wait closes the connection; 0: off. */
  readonly sendTimeoutMs?: number;
  /** Requests (HTTP/1.1) or streams (HTTP/2) per connection; 0: no limit. */
  readonly maxRequestsPerConnection?: number;
  readonly h2MaxConcurrentStreams?: number;
  /** HTTP/2 rapid-reset thresholds, passed to Node where it takes them (22.10 and later). */
  readonly h2StreamResetBurst?: number;
  readonly h2StreamResetRate?: number;
}

export interface ListenerDeps {
  /** `requestId`: decided before the handler (for a watched body, so its 408 carries it); else the handler decides. */
  readonly handle: (req: ClientRequest, res: ClientResponse, expectsContinue?: boolean, requestId?: string) => void;
  /** The id the handler would give this request (a trusted peer's X-Request-Id, else a new one). */
  readonly requestId: (req: ClientRequest) => string;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Told about requests refused before routing, with what could be read of them. */
  readonly refused?: (r: RefusedRequest) => void;
  readonly baseDir: string;
}

const REQUEST_LINE_ERRORS = new Set(['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'HPE_INVALID_VERSION']);

const LISTEN_BACKLOG = 4096;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * SO_REUSEPORT for net listeners arrived in Node 22.12 and 23.1. With it, each cluster worker binds the port
 * itself and the kernel spreads connections; without it (Node 20), the primary accepts and hands them over.
 */
export function supportsReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Parser errors mapped to the status a client should see (RFC 9110/9112). */
function statusForClientError(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/** RFC 9110 §10.1.1: an expectation other than 100-continue gets 417, as problem details like every refusal. */
function refuseExpectation(res: ClientResponse, close: boolean): void {
  metrics.clientErrors.labels('417').inc();
  const requestId = randomUUID();
  const detail = 'Only Expect: 100-continue is supported.';
  const body = problemBody({ status: 417, code: 'BWK_ERR_BAD_REQUEST', detail, requestId });
  res.writeHead(417, problemHeaders(body, requestId, close ? { connection: 'close' } : undefined)).end(body);
}

const CLIENT_ERROR_CODE: Record<number, string> = {
  400: 'BWK_ERR_BAD_REQUEST',
  408: 'BWK_ERR_HEADERS_TIMEOUT',
  431: 'BWK_ERR_HEADERS_TOO_LARGE',
};

export class Listener {
  readonly name: string;
  private front!: net.Server;
  private h1!: http.Server;
  private h2?: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<net.Socket>();
  private certificates?: CertificateTable;
  private connections;
  private readonly guard: ConnectionGuard;
  private readonly slow: SlowGuards;
  /** Requests (HTTP/1.1 sockets) or streams (HTTP/2 sessions) served per connection, for max_requests. */
  private readonly served = new WeakMap<object, number>();
  private readonly maxRequests: number;

  constructor(
    private readonly config: ListenerConfig,
    private readonly limits: ListenerLimits,
    private readonly deps: ListenerDeps,
  ) {
    this.name = config.name;
    this.connections = metrics.openConnections.labels(config.name);
    this.guard = new ConnectionGuard(config.name, {
      perClient: limits.connectionsPerClient,
      total: limits.connectionsTotal,
      newPerSecondPerClient: limits.newConnectionsPerSecondPerClient,
    });
    this.slow = new SlowGuards(config.name, {
      bodyMinRate: limits.bodyMinRate ?? 240,
      bodyMinRateGraceMs: limits.bodyMinRateGraceMs ?? 5000,
      sendTimeoutMs: limits.sendTimeoutMs ?? 30_000,
    });
    this.maxRequests = limits.maxRequestsPerConnection ?? 1000;
    if (config.tls) this.certificates = loadCertificates(config.tls, deps.baseDir);
    this.build();
  }

  /** New certificates (a reload); connections already open keep theirs. */
  setCertificates(tlsConfig: ListenerConfig['tls'], baseDir: string): void {
    if (!tlsConfig) return;
    this.certificates = loadCertificates(tlsConfig, baseDir);
    if (this.front instanceof tls.Server) this.front.setSecureContext(this.certificates.defaults);
  }

  private build(): void {
    const protocols = this.config.protocols ?? ['http1'];
    const { headerBytes, uriBytes, headersTimeoutMs, keepAliveTimeoutMs } = this.limits;
    this.h1 = http.createServer({
      // The parser's hard cap; the handler then tells 414 from 431 against the two limits.
      maxHeaderSize: headerBytes + uriBytes,
      headersTimeout: headersTimeoutMs,
      // Slow bodies are bounded by the route's idle timeout, not by one deadline for the whole upload.
      requestTimeout: 0,
      keepAliveTimeout: keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(headersTimeoutMs / 4))),
      insecureHTTPParser: false,
      // The handler checks Host itself so that the refusal is a problem-details body like every other error.
      requireHostHeader: false,
    });
    // Node answers the last allowed request with Connection: close and refuses pipelined ones past it.
    if (this.maxRequests > 0) this.h1.maxRequestsPerSocket = this.maxRequests;
    this.h1.on('connection', (socket: net.Socket) => this.slow.watchSocket(socket));
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => this.onH1Request(req, res, false));
    this.h1.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onH1Request(req, res, true));
    this.h1.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => refuseExpectation(res, true));
    this.h1.on('upgrade', this.deps.upgrade);
    // A reverse proxy does not tunnel: CONNECT gets 405 instead of a silently closed connection.
    this.h1.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      metrics.clientErrors.labels('405').inc();
      const detail = 'CONNECT is not supported: this is a reverse proxy, not a forward proxy.';
      socket.end(
        rawProblemResponse({ status: 405, code: 'BWK_ERR_METHOD_NOT_ALLOWED', detail, requestId: randomUUID() }),
      );
    });
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));

    const wantsH2 = protocols.includes('h2') || protocols.includes('h2c');
    if (wantsH2) {
      const { options, warnings } = h2ServerOptions({
        maxConcurrentStreams: this.limits.h2MaxConcurrentStreams ?? 128,
        maxHeaderListSize: headerBytes + uriBytes,
        streamResetBurst: this.limits.h2StreamResetBurst,
        streamResetRate: this.limits.h2StreamResetRate,
      });
      for (const w of warnings) log().warn({ listener: this.name }, w);
      this.h2 = http2.createServer(options);
      const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        this.deps.handle(req, res, false, this.slow.watchBody(req, res, this.deps.requestId));
      };
      this.h2.on('request', onRequest);
      // RFC 9110 §10.1.1: the client waits for the 100 (or a final answer) before its body, over HTTP/2 too.
      this.h2.on('checkContinue', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        this.deps.handle(req, res, true, this.slow.watchBody(req, res, this.deps.requestId));
      });
      this.h2.on('checkExpectation', (_req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) =>
        refuseExpectation(res, false),
      );
      this.h2.on('stream', (stream: http2.ServerHttp2Stream) => this.onH2Stream(stream));
      this.h2.on('session', (s: http2.ServerHttp2Session) => {
        this.sessions.add(s);
        s.once('close', () => this.sessions.delete(s));
      });
      this.h2.on('sessionError', (err) => log().debug({ err: err.message, listener: this.name }, 'h2 session error'));
      this.h2.setTimeout(keepAliveTimeoutMs);
    }

    if (this.config.tls) {
      const alpn = [...(protocols.includes('h2') ? ['h2'] : []), ...(protocols.includes('http1') ? ['http/1.1'] : [])];
      this.front = tls.createServer({
        ...this.certificates!.defaults,
        ALPNProtocols: alpn,
        SNICallback: (servername, cb) => cb(null, selectContext(this.certificates!, servername)),
        handshakeTimeout: headersTimeoutMs,
      });
      this.front.on('secureConnection', (socket: tls.TLSSocket) => {
        if (socket.alpnProtocol === 'h2' && this.h2) this.h2.emit('connection', socket);
        else this.h1.emit('connection', socket);
      });
      this.front.on('tlsClientError', (err) => log().debug({ err: err.message, listener: this.name }, 'tls error'));
      this.h1.emit('listening'); // arms the headers-timeout sweep and connection tracking of the inner server
    } else if (protocols.includes('h2c')) {
      this.front = net.createServer((socket) => this.sniff(socket, protocols.includes('http1')));
      this.h1.emit('listening');
    } else {
      this.front = this.h1;
    }
    this.front.on('connection', (socket: net.Socket) => {
      if (!this.guard.admit(socket)) return;
      this.sockets.add(socket);
      this.connections.inc();
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.connections.dec();
      });
    });
  }

  private onH1Request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const requestId = this.slow.watchBody(req, res, this.deps.requestId);
    if (this.maxRequests > 0) {
      const n = (this.served.get(req.socket) ?? 0) + 1;
      this.served.set(req.socket, n);
      // Node's maxRequestsPerSocket only says Connection: close and leaves closing to the client; this closes.
      if (n >= this.maxRequests) res.shouldKeepAlive = false;
      if (n === this.maxRequests) this.slow.count('max_requests');
    }
    this.deps.handle(req, res, expectsContinue, requestId);
  }

  private onH2Stream(stream: http2.ServerHttp2Stream): void {
    this.slow.watchStream(stream);
    const session = stream.session;
    if (this.maxRequests <= 0 || !session) return;
    const n = (this.served.get(session) ?? 0) + 1;
    this.served.set(session, n);
    if (n === this.maxRequests) {
      // GOAWAY naming this stream as the last: it and those before it finish, the client opens a new connection.
      this.slow.count('max_requests');
      session.close();
    }
  }

  /** Reads just enough to tell the HTTP/2 preface from an HTTP/1.1 request line, then hands the socket over. */
  private sniff(socket: net.Socket, allowH1: boolean): void {
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < H2_PREFACE.length) return; // could still be either: wait for more
      socket.off('data', onData);
      clearTimeout(timer);
      socket.pause();
      if (isH2 && this.h2) {
        // The HTTP/2 session reads what is buffered in the stream before its native reads start.
        socket.unshift(seen);
        this.h2.emit('connection', socket);
      } else if (allowH1) {
        // The HTTP/1 parser reads from the native handle and never sees unshifted bytes: hand them over as data.
        this.h1.emit('connection', socket);
        socket.emit('data', seen);
        socket.resume();
      } else socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (pending?.headersSent) {
      socket.destroy();
      return;
    }
    const status = statusForClientError(err.code);
    metrics.clientErrors.labels(String(status)).inc();
    const code = CLIENT_ERROR_CODE[status] ?? 'BWK_ERR_BAD_REQUEST';
    const detail =
      status === 408
        ? 'The request headers did not arrive in time.'
        : `The request is malformed (${err.code ?? 'parse error'}).`;
    const requestId = randomUUID();
    const answer = () => socket.end(rawProblemResponse({ status, code, detail, requestId }));
    // A response still being written for an earlier, complete (pipelined) request goes out first; then the
    // refusal. When the broken bytes belong to the request being answered, the refusal goes out now.
    const inFlight = pending as ServerResponse | undefined;
    if (inFlight?.req?.complete && !inFlight.writableFinished) {
      inFlight.once('finish', answer);
      inFlight.once('close', () => socket.destroy());
    } else answer();
    const raw = (err as { rawPacket?: Buffer }).rawPacket;
    // Only a broken request line is read again for the WAF: the header block was not parsed, and reading it
    // leniently would show the rules things the client never managed to send as headers.
    if (status === 400 && raw && this.deps.refused && REQUEST_LINE_ERRORS.has(err.code ?? '')) {
      this.reportRefused(raw, socket, status, err.code, requestId);
    }
  }

  private reportRefused(
    raw: Buffer,
    socket: Duplex,
    status: number,
    reason: string | undefined,
    requestId: string,
  ): void {
    const head = parseRawHead(raw.toString('latin1'));
    if (!head) return;
    const client = (socket as net.Socket).remoteAddress ?? '';
    try {
      this.deps.refused!({ ...head, requestId, client, status, reason: reason ?? 'parse error' });
    } catch (e) {
      log().error({ err: e }, 'inspecting a refused request failed');
    }
  }

  /**
   * `workers_balance: client_hash`: the primary accepts and hands connections over (see src/process/balance.ts),
   * so this listener binds nothing. A plain HTTP/1.1 front is then never 'listening', which is what arms its
   * headers-timeout sweep and connection tracking: do it here.
   */
  acceptHandedConnections(): void {
    if (this.front === this.h1) this.h1.emit('listening');
  }

  /**
   * A connection accepted elsewhere (the primary, paused) enters here as if this front had accepted it: the
   * connection guard, TLS, h2c sniffing and the HTTP servers all hang off the front's 'connection' event.
   */
  adopt(socket: net.Socket): void {
    this.front.emit('connection', socket);
    if (!socket.destroyed) socket.resume();
  }

  listen(address: string): Promise<net.AddressInfo> {
    const { host, port } = splitAddress(address);
    return new Promise((resolve, reject) => {
      const onError = (e: Error) =>
        reject(new BulwarkError('BWK_ERR_LISTEN', `listener ${this.name} cannot bind ${address}: ${e.message}`));
      this.front.once('error', onError);
      // Port 0 must stay shared: each worker would otherwise get a port of its own.
      const ownSocket = cluster.isWorker && port !== 0 && supportsReusePort();
      // Node's default accept backlog (511) overflows when hundreds of clients reconnect at once (attackers cut
      // off by a guard do): the kernel then drops SYNs, good ones too, and their clients wait a 1 s retransmit.
      // The kernel caps this at net.core.somaxconn.
      const backlog = LISTEN_BACKLOG;
      const options = ownSocket ? { host, port, backlog, reusePort: true, exclusive: true } : { host, port, backlog };
      this.front.listen(options as net.ListenOptions, () => {
        this.front.off('error', onError);
        this.front.on('error', (e) => log().error({ err: e, listener: this.name }, 'listener error'));
        resolve(this.front.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting, lets requests in flight finish, closes idle keep-alive connections; force after deadline. */
  async drain(deadlineMs: number): Promise<void> {
    // Stop accepting now. close()'s callback waits for every connection to end, so it is not awaited: the
    // deadline below decides how long open connections get.
    this.front.close(() => {});
    for (const s of this.sessions) s.close();
    const until = Date.now() + deadlineMs;
    while (this.sockets.size > 0 && Date.now() < until) {
      this.h1.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of this.sockets) s.destroy();
    this.slow.close();
    if (this.front !== this.h1) this.h1.emit('close'); // stops the inner server's connection sweep
  }
}
