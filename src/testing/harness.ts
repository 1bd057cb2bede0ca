/**
 * Test harness shared by the integration tests: an in-process gateway from YAML, small origins, raw sockets.
 * Everything binds 127.0.0.1 on port 0 and is closed by the caller; nothing here is used outside tests.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem } from '../config/index.js';
import { loadConfigText } from '../bulwark-config.js';
import { fileReloader, startSingle, type RunningNode } from '../process/index.js';

export interface TestGateway {
  readonly node: RunningNode;
  /** http://127.0.0.1:PORT of the first listener. */
  readonly url: string;
  readonly port: number;
  readonly adminUrl: string;
  readonly dir: string;
  /** The config file; rewrite it and POST /config/reload to test reloads. */
  readonly file: string;
  close(): Promise<void>;
}

const scratchDirs: string[] = [];

/** A scratch directory for config files and certificates, removed when the test process exits. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-test-'));
  if (scratchDirs.length === 0) {
    process.once('exit', () => {
      for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  scratchDirs.push(dir);
  return dir;
}

/** The admin API's write token in the admin section testYaml adds. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
/** Request headers that carry it: every read under /v1/ needs a token. */
export const ADMIN_AUTH = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } as const;

/** Completes test YAML: admin on port 0 with TEST_ADMIN_TOKEN, no access log, one process, unless the YAML says so. */
export function testYaml(yaml: string): string {
  let text = yaml;
  if (!/^admin:/m.test(text)) text += `\nadmin:\n  address: 127.0.0.1:0\n  token: ${TEST_ADMIN_TOKEN}\n`;
  if (!/^log:/m.test(text)) text += '\nlog:\n  level: silent\n  access:\n    enabled: false\n';
  if (!/^workers:/m.test(text)) text += '\nworkers: 0\n';
  return text;
}

/** Starts a one-process gateway from YAML completed by testYaml. */
export async function startGateway(yaml: string, dir = scratchDir()): Promise<TestGateway> {
  const text = testYaml(yaml);
  const file = join(dir, 'bulwark.yaml');
  writeFileSync(file, text);
  const r = loadConfigText(text, file, dir);
  if (!r.ok) throw new Error(`test config refused:\n${r.problems.map(formatProblem).join('\n')}`);
  const node = await startSingle(r.loaded, fileReloader(file));
  const first = Object.values(node.listeners())[0]!;
  return {
    node,
    port: first.port,
    url: `http://127.0.0.1:${first.port}`,
    adminUrl: `http://127.0.0.1:${node.admin.port}`,
    dir,
    file,
    close: () => node.close(2000),
  };
}

export interface TestOrigin {
  readonly server: http.Server;
  readonly url: string;
  readonly port: number;
  /** Requests seen, in order, with the header lines as received (names' case, order, repeats). */
  readonly seen: Array<{
    method: string;
    url: string;
    httpVersion: string;
    headers: http.IncomingHttpHeaders;
    rawHeaders: string[];
    body: Buffer;
  }>;
  close(): Promise<void>;
}

/** An origin that records what it sees and answers with `reply` (default: 200 "ok from <name>"). */
export async function startOrigin(
  name = 'origin',
  reply?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void,
): Promise<TestOrigin> {
  const seen: TestOrigin['seen'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      if (reply) reply(req, res, body);
      else res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': name }).end(`ok from ${name}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RawOrigin {
  readonly url: string;
  /** Request heads received (request line and header lines, up to the blank line), in order. */
  readonly heads: string[];
  /** What the next requests are answered with, byte for byte: a broken origin is the point. Empty: a TCP reset. */
  answer: string | Buffer;
  close(): Promise<void>;
}

/**
 * An origin that writes `answer` verbatim once it has a request head, for origin-side framing errors that no
 * well-behaved server can produce. Bodies are not read; a connection answers once per head it sees.
 */
export async function startRawOrigin(
  answer: string | Buffer = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
): Promise<RawOrigin> {
  const sockets = new Set<net.Socket>();
  const origin: RawOrigin = {
    url: '',
    heads: [],
    answer,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        origin.heads.push(buffered.slice(0, end));
        buffered = '';
        if (origin.answer.length === 0) return void socket.resetAndDestroy();
        socket.write(origin.answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (origin as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

/**
 * Sends raw bytes and returns everything the server wrote until it closed or `timeoutMs` passed. With
 * `halfClose`, the client ends its side after writing, so an incomplete request ends at once.
 */
export async function rawRequest(
  port: number,
  data: string | Buffer,
  timeoutMs = 3000,
  halfClose = false,
): Promise<string> {
  return (await rawExchange(port, data, { timeoutMs, halfClose })).text;
}

/**
 * rawRequest, also telling whether the server ended the connection (`closed`) or `timeoutMs` passed first.
 * `localAddress` picks the client address (any of 127.0.0.0/8 on Linux).
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  options: { timeoutMs?: number; halfClose?: boolean; localAddress?: string } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: options.localAddress }, () =>
      options.halfClose ? socket.end(data) : socket.write(data),
    );
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), options.timeoutMs ?? 3000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
  });
}

/** The status of a raw HTTP/1.1 answer, or 0 when there is none. */
export function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0);
}

/** The value of `name` in the first header block of a raw answer, or undefined. */
export function fieldOf(response: string, name: string): string | undefined {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with node:http, fresh connection; resolves with status, headers and body text. */
export function request(
  url: string,
  options: {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer;
    localAddress?: string;
    /** Fail with 'timeout' if no complete answer arrives in this time. */
    timeoutMs?: number;
  } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false, localAddress: options.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error('timeout')));
    req.end(options.body);
  });
}

/** Pool YAML for tests: one pool named `main` with the given origin URLs. */
export function poolYaml(urls: string[], extra = ''): string {
  return `pools:\n  main:\n    origins:\n${urls.map((u) => `      - url: ${u}\n`).join('')}${extra}`;
}

/**
 * Answers with `total` bytes of 'a', written with backpressure so that memory stays flat however slowly the client
 * takes them. Resolves true when the response was cut before its end (the gateway gave up on the client).
 */
export function streamBytes(res: http.ServerResponse, total: number): Promise<boolean> {
  const cut = new Promise<boolean>((done) => res.once('close', () => done(!res.writableFinished)));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  const chunk = Buffer.alloc(64 * 1024, 97);
  let sent = 0;
  const pump = () => {
    while (sent < total && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
  return cut;
}
