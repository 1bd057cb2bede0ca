/**
 * The admin API, on its own listener (loopback by default, never a data-plane port). Probes and scrapers read
 * /metrics, /healthz and /readyz without a token; everything under /v1/ needs one, since events carry client
 * addresses and request values and bans name clients. Two scopes: the read token reads, the write token (also
 * `admin.token`) reads and changes state. Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitAddress, type ConfigProblem } from '../config/index.js';
import { BulwarkError, type ErrorCode } from '../errors.js';
import { log, parseEventQuery, type EventPage, type EventQuery } from '../observability/index.js';
import { addBan, listBans, readSmallBody, removeBan, type AdminAnswer, type BanAdmin } from './bans.js';
import { parseUnderAttackRequest, type UnderAttackState } from '../ddos/index.js';
import type { AdminConfig } from './schema.js';

export interface AdminBackend {
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }>;
  /** Recent security events (all workers' in a cluster, in one order), filtered and paged; see docs/events.md. */
  events(query: EventQuery): Promise<EventPage>;
  reload(): Promise<{ ok: true; generation?: number } | { ok: false; problems: ConfigProblem[]; message: string }>;
  /** The node's ban table (the primary's in a cluster, which passes changes on to the workers). */
  bans: BanAdmin;
  /** Under-attack mode (challenge on every route): read it, or set it on every process of the node. */
  underAttack?(next?: UnderAttackState): Promise<UnderAttackState>;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, code: ErrorCode, message: string, extra?: object): void {
  sendJson(res, status, { error: { code, message, ...extra } });
}

function sendAnswer(res: http.ServerResponse, a: AdminAnswer): void {
  sendJson(res, a.status, 'error' in a ? { error: a.error } : a.body);
}

type Scope = 'read' | 'write';

export class AdminServer {
  private readonly server: http.Server;
  /** Digests of the tokens that may change state (tokens.write and the older admin.token) and of the read token. */
  private readonly writeDigests: Buffer[];
  private readonly readDigests: Buffer[];

  /** Tokens are read here, at start; a reload does not change them. */
  constructor(
    private readonly backend: AdminBackend,
    config: AdminConfig | undefined,
  ) {
    // Hash once so the comparison is constant-time whatever the presented token's length.
    const digests = (...tokens: Array<string | undefined>) => tokens.flatMap((t) => (t ? [digest(t)] : []));
    this.writeDigests = digests(config?.tokens?.write, config?.token);
    this.readDigests = digests(config?.tokens?.read);
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this.route(req, res).catch((e: unknown) => {
        log().error({ err: e }, 'admin request failed');
        if (!res.headersSent) sendError(res, 500, 'BWK_ERR_STAGE_FAILED', 'admin request failed');
      });
    });
  }

  /** The scope the request's bearer token grants. Every configured digest is compared, so timing tells nothing. */
  private scopeOf(req: http.IncomingMessage): Scope | undefined {
    const header = req.headers.authorization ?? '';
    const presented = digest(/^bearer /i.test(header) ? header.slice(7).trim() : '');
    let write = false;
    let read = false;
    for (const d of this.writeDigests) write = timingSafeEqual(presented, d) || write;
    for (const d of this.readDigests) read = timingSafeEqual(presented, d) || read;
    return write ? 'write' : read ? 'read' : undefined;
  }

  /** True when the request may go on with `need`; otherwise the refusal (401 or 403) has been sent. */
  private allowed(req: http.IncomingMessage, res: http.ServerResponse, need: Scope): boolean {
    const scope = this.scopeOf(req);
    if (scope === 'write' || scope === need) return true;
    if (need === 'write' && this.writeDigests.length === 0) {
      this.unauthorised(
        res,
        'endpoints that change state are disabled: set admin.tokens.write (e.g. ${BULWARK_ADMIN_TOKEN}) to enable them',
      );
    } else if (need === 'read' && this.writeDigests.length + this.readDigests.length === 0) {
      this.unauthorised(
        res,
        'reads under /v1/ need a token and none is set: set admin.tokens.read (e.g. ${BULWARK_ADMIN_READ_TOKEN}) ' +
          'or admin.tokens.write, then send "Authorization: Bearer <token>"',
      );
    } else if (scope === 'read') {
      sendError(res, 403, 'BWK_ERR_ADMIN_FORBIDDEN', 'the read token cannot change state; use the write token');
    } else {
      this.unauthorised(res, 'a valid bearer token is required: send "Authorization: Bearer <token>"');
    }
    return false;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const [path, search = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const method = req.method ?? 'GET';
    // Every endpoint under /v1/ reads or writes data about clients: no token, no answer (not even a 404).
    if (path.startsWith('/v1/') && !this.allowed(req, res, method === 'GET' || method === 'HEAD' ? 'read' : 'write')) {
      req.resume();
      return;
    }
    if (path === '/v1/bans' || path.startsWith('/v1/bans/')) return this.routeBans(req, res, method, path, search);
    if (path === '/v1/under-attack' && this.backend.underAttack) return this.underAttack(req, res, method);
    req.resume();
    if (method === 'GET' && path === '/metrics') {
      const m = await this.backend.metrics();
      res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
      res.end(m.body);
      return;
    }
    if (method === 'GET' && path === '/v1/events') {
      const query = parseEventQuery(new URLSearchParams(search));
      if (typeof query === 'string') return sendError(res, 400, 'BWK_ERR_ADMIN_BAD_REQUEST', query);
      return sendJson(res, 200, await this.backend.events(query));
    }
    if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (method === 'GET' && path === '/readyz') {
      const r = await this.backend.readiness();
      return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r.detail });
    }
    if (method === 'POST' && path === '/config/reload') {
      if (!this.allowed(req, res, 'write')) return;
      const r = await this.backend.reload();
      if (r.ok) return sendJson(res, 200, { status: 'reloaded', generation: r.generation });
      return sendError(res, 400, 'BWK_ERR_RELOAD_FAILED', r.message, { problems: r.problems });
    }
    sendError(res, 404, 'BWK_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${method} ${path}`);
  }

  private unauthorised(res: http.ServerResponse, why: string): void {
    res.setHeader('www-authenticate', 'Bearer realm="bulwark-admin"');
    sendError(res, 401, 'BWK_ERR_ADMIN_UNAUTHORIZED', why);
  }

  /** GET /v1/bans, POST /v1/bans and DELETE /v1/bans/<target>; the scope was checked in route(). */
  private async routeBans(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    path: string,
    search: string,
  ): Promise<void> {
    const bans = this.backend.bans;
    if (method === 'GET' && path === '/v1/bans') {
      req.resume();
      return sendAnswer(res, listBans(bans, new URLSearchParams(search)));
    }
    const mutation = (method === 'POST' && path === '/v1/bans') || (method === 'DELETE' && path !== '/v1/bans');
    if (!mutation) {
      req.resume();
      return sendError(res, 404, 'BWK_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${method} ${path}`);
    }
    if (method === 'DELETE') {
      req.resume();
      return sendAnswer(res, removeBan(bans, path.slice('/v1/bans/'.length)));
    }
    const text = await readSmallBody(req);
    if (text === undefined)
      return sendError(res, 413, 'BWK_ERR_BAN_INVALID', 'the body is larger than 4 KiB; expected a small JSON object');
    return sendAnswer(res, addBan(bans, text));
  }

  /** GET reads the mode; POST {"enabled": bool, "difficulty"?: bits} sets it; the scope was checked in route(). */
  private async underAttack(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    if (method === 'GET') {
      req.resume();
      return sendJson(res, 200, await this.backend.underAttack!());
    }
    if (method !== 'POST') {
      req.resume();
      return sendError(res, 404, 'BWK_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${method} /v1/under-attack`);
    }
    const text = await readSmallBody(req);
    let body: unknown;
    try {
      body = text === undefined ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const next = parseUnderAttackRequest(body);
    if (typeof next === 'string') return sendError(res, 400, 'BWK_ERR_ADMIN_BAD_REQUEST', next);
    const state = await this.backend.underAttack!(next);
    log().warn({ underAttack: state }, state.enabled ? 'under-attack mode on' : 'under-attack mode off');
    return sendJson(res, 200, state);
  }

  listen(address: string): Promise<AddressInfo> {
    const { host, port } = splitAddress(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', (e) =>
        reject(new BulwarkError('BWK_ERR_LISTEN', `admin API cannot bind ${address}: ${e.message}`)),
      );
      this.server.listen({ host, port }, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
