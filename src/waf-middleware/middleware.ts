/**
 * The WAF without the gateway: `createWaf()` from `bulwark/waf` protects a node:http, Express or Fastify app with
 * the same engine and CRS. Request headers and body are inspected before the app sees them (the body is read,
 * inspected and handed back to the app's own parsers); response headers and inspected bodies (text/html and the
 * other configured types, up to the limit) are held until phases 3 and 4 have passed, so a blocked response never
 * leaves. One JSON security event per flagged or blocked request goes to `onEvent`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { BulwarkError } from '../errors.js';
import { problemBody as gatewayProblemBody } from '../lib/problem.js';
import {
  eventMatch,
  headerPairs,
  loadWaf,
  maskSecrets,
  scores,
  type Interruption,
  type Transaction,
  type Waf,
  type WafConfig,
  type WafProfile,
  type WafRouteConfig,
} from '../waf/index.js';

export interface CreateWafOptions {
  /** A CRS release folder. By default it is found as the gateway finds it ($BULWARK_CRS_DIR, the cache...). */
  readonly crsDir?: string;
  /** 1 (default) to 4. */
  readonly paranoiaLevel?: 1 | 2 | 3 | 4;
  /** `on` (default) blocks; `detection_only` only reports. */
  readonly mode?: 'on' | 'detection_only';
  readonly inboundThreshold?: number;
  /** Your own SecLang files, loaded after CRS. */
  readonly rules?: readonly string[];
  /** The same exclusions as a route's `stages.waf.exclusions` in bulwark.yaml. */
  readonly exclusions?: WafRouteConfig['exclusions'];
  /** Receives one event per flagged or blocked request; the default writes a JSON line to stderr. */
  readonly onEvent?: (event: WafEvent) => void;
  /** The whole engine configuration, as under `waf:` in bulwark.yaml, for what the options above do not cover. */
  readonly config?: WafConfig;
}

export interface WafEvent {
  readonly type: 'waf';
  readonly time: string;
  readonly request_id: string;
  readonly client: string;
  readonly action: 'blocked' | 'detected';
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly rule?: number;
  readonly scores: Record<string, number>;
  readonly matches: ReturnType<typeof eventMatch>[];
  readonly errors: readonly string[];
}

type Next = (err?: unknown) => void;

export interface WafMiddleware {
  /** Connect/Express middleware, also usable around a plain node:http handler. */
  (req: IncomingMessage, res: ServerResponse, next: Next): void;
  /** A Fastify plugin: `await app.register(waf.fastify)`. */
  readonly fastify: FastifyPlugin;
  readonly engine: Waf;
}

/** createWaf() could not load its rules or profile; `problems` names each with file:line where there is one. */
export class WafLoadError extends BulwarkError {
  constructor(readonly problems: readonly string[]) {
    super('BWK_ERR_WAF_LOAD', `the WAF could not load its rules:\n${problems.join('\n')}`);
    this.name = 'WafLoadError';
  }
}

export function createWaf(options: CreateWafOptions = {}): WafMiddleware {
  const config: WafConfig = {
    ...options.config,
    crs: {
      ...options.config?.crs,
      ...(options.crsDir !== undefined ? { dir: options.crsDir } : {}),
      ...(options.paranoiaLevel !== undefined ? { paranoia_level: options.paranoiaLevel } : {}),
      ...(options.inboundThreshold !== undefined ? { inbound_threshold: options.inboundThreshold } : {}),
    },
    ...(options.rules ? { rules_files: [...(options.config?.rules_files ?? []), ...options.rules] } : {}),
  };
  const load = loadWaf(config, process.cwd());
  if (!load.ok) throw new WafLoadError(load.problems);
  const waf = load.waf;
  const profile = waf.profile({ engine: options.mode, exclusions: options.exclusions });
  if (typeof profile === 'string') throw new WafLoadError([profile]);
  const emit = options.onEvent ?? ((e: WafEvent) => process.stderr.write(`${JSON.stringify(e)}\n`));

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: Next) => {
    void inspectRequest(waf, profile, req, res, emit).then(
      (passed) => passed && next(),
      (err: unknown) => next(err),
    );
  }) as WafMiddleware;
  Object.defineProperty(middleware, 'engine', { value: waf });
  Object.defineProperty(middleware, 'fastify', { value: fastifyPlugin(waf, profile, emit) });
  return middleware;
}

// --- node:http and Express --------------------------------------------------------------------------------------

async function inspectRequest(
  waf: Waf,
  profile: WafProfile,
  req: IncomingMessage,
  res: ServerResponse,
  emit: (e: WafEvent) => void,
): Promise<boolean> {
  const id = requestId(req);
  const tx = waf.transaction(id, profile);
  res.once('close', () => report(tx, req, id, res.statusCode, emit));
  let stop = tx.processRequestHeaders(requestInfo(req));
  if (!stop && waf.ruleSet.settings.requestBodyAccess) {
    const limit = waf.ruleSet.settings.requestBodyNoFilesLimit;
    const body = await readBodyAndPutBack(req, Math.max(limit, waf.ruleSet.settings.requestBodyLimit));
    if (body === 'too-large') {
      sendProblem(res, 413, id, 'The request body exceeds what the WAF inspects.');
      return false;
    }
    stop = tx.processRequestBody(body.length ? body.toString('latin1') : undefined);
  }
  if (stop) {
    sendBlocked(res, stop, id);
    return false;
  }
  holdResponse(waf, tx, res, id);
  return true;
}

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

function requestInfo(req: IncomingMessage) {
  const h2 = req.httpVersion.startsWith('2');
  const authority = req.headers[':authority'];
  return {
    method: req.method ?? 'GET',
    uri: req.url ?? '/',
    protocol: `HTTP/${req.httpVersion}`,
    headers: headerPairs(req.rawHeaders, h2, typeof authority === 'string' ? authority : undefined),
    clientAddress: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    clientPort: req.socket.remotePort ?? 0,
  };
}

/**
 * Reads the whole body, then puts it back at the front of the stream so that the app's own body parsers read it as
 * if nobody had. The put-back happens in the same tick as the last read, before the stream can announce its end.
 */
function readBodyAndPutBack(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if ((!chunked && (length === undefined || length === '0')) || (req.complete && req.readableLength === 0)) {
    return Promise.resolve(Buffer.alloc(0));
  }
  if (!chunked && Number(length) > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | 'too-large') => {
      req.off('readable', onReadable);
      req.off('error', reject);
      resolve(result);
    };
    const onReadable = () => {
      // read() on an ended, empty stream schedules its 'end'; take only what is buffered.
      while (req.readableLength > 0) {
        const chunk = req.read() as Buffer | null;
        if (chunk === null) break;
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) return done('too-large');
      }
      if (!req.complete) return;
      const body = Buffer.concat(chunks, size);
      if (size) req.unshift(body);
      done(body);
    };
    req.on('readable', onReadable);
    req.on('error', reject);
  });
}

/**
 * Wraps the response so that phase 3 runs before any header leaves and, for inspected content types, the body is
 * held (up to the limit) until phase 4 has passed. A body larger than the limit is inspected up to it, then streamed.
 */
function holdResponse(waf: Waf, tx: Transaction, res: ServerResponse, id: string): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end };
  const limit = waf.ruleSet.settings.responseBodyLimit;
  let state: 'open' | 'streaming' | 'holding' | 'done' = 'open';
  const held: Buffer[] = [];
  let heldBytes = 0;
  let pendingHead: { status: number; message?: string } | undefined;
  /** Phase 4 ran at the limit of a larger body; the rest streams without it. */
  let inspected = false;

  const restore = () => Object.assign(res, original);
  const writeHeadNow = () => {
    if (pendingHead) {
      const writeHead = original.writeHead as (...a: unknown[]) => ServerResponse;
      if (pendingHead.message === undefined) writeHead.call(res, pendingHead.status);
      else writeHead.call(res, pendingHead.status, pendingHead.message);
    }
    pendingHead = undefined;
  };
  const block = (i: Interruption) => {
    state = 'done';
    restore();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    sendBlocked(res, i, id);
  };
  /** Phase 3, once, when the first byte of the response is about to leave. */
  const begin = (): boolean => {
    if (state !== 'open') return state !== 'done';
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name, String(v)]);
    }
    const status = pendingHead?.status ?? res.statusCode;
    const stop = tx.processResponseHeaders({ status, protocol: `HTTP/${res.req.httpVersion}`, headers });
    if (stop) {
      block(stop);
      return false;
    }
    state = tx.wantsResponseBody() ? 'holding' : 'streaming';
    if (state === 'streaming') {
      // Node's own write() sends implicit headers through writeHead: it must be the real one from here on.
      res.writeHead = original.writeHead;
      writeHeadNow();
    }
    return true;
  };
  const release = () => {
    state = 'streaming';
    res.writeHead = original.writeHead;
    res.write = original.write;
    writeHeadNow();
    for (const chunk of held) (original.write as (c: Buffer) => boolean).call(res, chunk);
    held.length = 0;
  };
  const toBuffer = (chunk: unknown, encoding?: unknown): Buffer | undefined => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return undefined;
    if (typeof chunk === 'string')
      return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    return Buffer.from(chunk as Uint8Array);
  };

  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    let message: string | undefined;
    let headers = rest[0];
    if (typeof headers === 'string') {
      message = headers;
      headers = rest[1];
    }
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
    } else if (headers && typeof headers === 'object') {
      for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
    }
    pendingHead = { status, message };
    res.statusCode = status;
    return this;
  } as ServerResponse['writeHead'];

  res.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
    if (!begin()) return false;
    if (state === 'holding') {
      const b = toBuffer(chunk, encoding);
      if (b) {
        held.push(b);
        heldBytes += b.length;
      }
      if (heldBytes >= limit) {
        const body = Buffer.concat(held, heldBytes).subarray(0, limit).toString('latin1');
        const stop = tx.processResponseBody(body);
        inspected = true;
        if (stop) {
          block(stop);
          return false;
        }
        release();
      }
      if (typeof cb === 'function') process.nextTick(cb as () => void);
      else if (typeof encoding === 'function') process.nextTick(encoding as () => void);
      return true;
    }
    return (original.write as (...a: unknown[]) => boolean).call(res, chunk, encoding, cb);
  } as ServerResponse['write'];

  res.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    if (state === 'done') return this;
    if (!begin()) return this;
    if (state === 'holding') {
      const b = toBuffer(chunk, encoding);
      if (b) {
        held.push(b);
        heldBytes += b.length;
      }
      const stop = tx.processResponseBody(Buffer.concat(held, heldBytes).subarray(0, limit).toString('latin1'));
      if (stop) {
        block(stop);
        return this;
      }
      release();
      state = 'done';
      restore();
      const callback = typeof cb === 'function' ? cb : typeof encoding === 'function' ? encoding : undefined;
      return (original.end as (cb?: unknown) => ServerResponse).call(res, callback);
    }
    if (state === 'streaming' && !inspected) tx.processResponseBody(undefined);
    state = 'done';
    restore();
    return (original.end as (...a: unknown[]) => ServerResponse).call(res, chunk, encoding, cb);
  } as ServerResponse['end'];
}

function sendBlocked(res: ServerResponse, i: Interruption, id: string): void {
  if (i.action === 'redirect' && i.location) {
    res.writeHead(i.status, { location: i.location, 'x-request-id': id }).end();
    return;
  }
  if (i.action === 'drop') {
    res.destroy();
    return;
  }
  sendProblem(res, i.status, id, BLOCKED);
}

const BLOCKED = 'The request was blocked by the web application firewall.';

/** The gateway's problem details, with the WAF stage's codes, the same for every framework. */
function problemBody(status: number, id: string, detail = BLOCKED): string {
  const code = status === 413 ? 'waf:body_too_large' : 'waf:blocked';
  return gatewayProblemBody({ status, code, detail, requestId: id });
}

function sendProblem(res: ServerResponse, status: number, id: string, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(status, id, detail);
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': id,
  });
  res.end(body);
}

function report(tx: Transaction, req: IncomingMessage, id: string, status: number, emit: (e: WafEvent) => void): void {
  tx.processLogging();
  const blocked = tx.interruption !== undefined && tx.mode === 'on';
  if (tx.matches.length === 0 && tx.errors.length === 0 && !blocked) return;
  emit({
    type: 'waf',
    time: new Date().toISOString(),
    request_id: id,
    client: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    action: blocked ? 'blocked' : 'detected',
    method: req.method ?? '',
    uri: maskSecrets.uri(req.url ?? '/'),
    status,
    rule: tx.interruption?.ruleId,
    scores: scores(tx),
    matches: tx.matches.map(eventMatch),
    errors: tx.errors,
  });
}

// --- Fastify -----------------------------------------------------------------------------------------------------

/** The parts of Fastify's API the plugin uses, so that Fastify stays an optional peer, not a dependency. */
interface FastifyLike {
  addHook(name: string, hook: (...args: never[]) => unknown): unknown;
}
interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}
interface FastifyReplyLike {
  readonly raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  getHeaders(): Record<string, unknown>;
  removeHeader(name: string): FastifyReplyLike;
  send(payload: unknown): FastifyReplyLike;
  readonly statusCode: number;
}

type FastifyPlugin = ((app: FastifyLike) => Promise<void>) & { [k: symbol]: unknown };

function fastifyPlugin(waf: Waf, profile: WafProfile, emit: (e: WafEvent) => void): FastifyPlugin {
  const txs = new WeakMap<IncomingMessage, { tx: Transaction; id: string }>();
  const problem = (reply: FastifyReplyLike, i: Interruption, id: string) =>
    reply
      .code(i.status)
      .header('content-type', 'application/problem+json')
      .header('x-request-id', id)
      .send(problemBody(i.status, id));

  const plugin = async (app: FastifyLike) => {
    app.addHook('onRequest', (async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const id = requestId(request.raw);
      const tx = waf.transaction(id, profile);
      txs.set(request.raw, { tx, id });
      const stop = tx.processRequestHeaders(requestInfo(request.raw));
      if (stop) return problem(reply, stop, id);
      if (request.raw.headers['content-length'] === undefined && !request.raw.headers['transfer-encoding']) {
        const noBody = tx.processRequestBody(undefined);
        if (noBody) return problem(reply, noBody, id);
      }
    }) as never);
    // Fastify hands the raw body stream to preParsing: read it, inspect it, hand back a stream of the same bytes.
    app.addHook('preParsing', (async (request: FastifyRequestLike, reply: FastifyReplyLike, payload: Readable) => {
      const state = txs.get(request.raw);
      if (!state) return payload;
      const chunks: Buffer[] = [];
      for await (const chunk of payload) chunks.push(Buffer.from(chunk as Uint8Array));
      const body = Buffer.concat(chunks);
      const stop = state.tx.processRequestBody(body.length ? body.toString('latin1') : undefined);
      if (stop) return problem(reply, stop, state.id);
      return Readable.from([body]);
    }) as never);
    app.addHook('onSend', (async (request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown) => {
      const state = txs.get(request.raw);
      if (!state || state.tx.interruption) return payload;
      const headers: [string, string][] = [];
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) headers.push([name, String(value)]);
      }
      const protocol = `HTTP/${request.raw.httpVersion}`;
      let stop = state.tx.processResponseHeaders({ status: reply.statusCode, protocol, headers });
      if (!stop) {
        const inspectable = typeof payload === 'string' || Buffer.isBuffer(payload);
        const text = inspectable ? Buffer.from(payload as string).toString('latin1') : undefined;
        stop = state.tx.processResponseBody(text?.slice(0, waf.ruleSet.settings.responseBodyLimit));
      }
      if (!stop) return payload;
      for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
      reply.code(stop.status).header('content-type', 'application/problem+json').header('x-request-id', state.id);
      return problemBody(stop.status, state.id);
    }) as never);
    app.addHook('onResponse', (async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const state = txs.get(request.raw);
      if (state) report(state.tx, request.raw, state.id, reply.statusCode, emit);
    }) as never);
  };
  // Hooks apply to the whole app, not only to routes registered inside the plugin (what fastify-plugin does).
  (plugin as FastifyPlugin)[Symbol.for('skip-override')] = true;
  (plugin as FastifyPlugin)[Symbol.for('fastify.display-name')] = 'bulwark-waf';
  return plugin as FastifyPlugin;
}
