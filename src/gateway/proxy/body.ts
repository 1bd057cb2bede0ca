/**
 * How a request body travels to the origin. Small bodies of known length are read into memory so that a
 * connect failure can be retried; large ones stream straight through; bodies of unknown length (chunked) are
 * counted on the way so the route's limit holds. Stages with body hooks see every chunk.
 */
import type { Readable } from 'node:stream';
import { BulwarkError } from '../../errors.js';
import type { Exchange, Pipeline, Verdict } from '../../pipeline/index.js';

/** Bodies up to this size (with a Content-Length) are held in memory to make them replayable. */
export const REPLAYABLE_BODY_BYTES = 64 * 1024;

type EndVerdict = Extract<Verdict, { kind: 'end' }>;

/**
 * A stage ended the request while its body was streaming. Carries a BWK_ code so the forwarder blames the client,
 * and the whole verdict (its headers and own body too). A signal, not a fault: no stack trace is captured, which
 * cost several microseconds on every request a WAF blocks in phase 2.
 */
export class VerdictError extends Error {
  readonly code = 'BWK_VERDICT';
  constructor(readonly verdict: EndVerdict) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(verdict.reason);
    Error.stackTraceLimit = limit;
  }
  get status(): number {
    return this.verdict.status;
  }
  get reason(): string {
    return this.verdict.reason;
  }
  get detail(): string | undefined {
    return this.verdict.detail;
  }
}

export function readSmallBody(req: Readable, expected: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      if (size < expected) reject(new Error('client closed the connection mid-body'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The client's body stream, with its failures (abort, bad chunk) turned into a client error (400). */
async function* clientBody(req: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    throw new BulwarkError('BWK_ERR_BAD_REQUEST', 'the request body could not be read', { status: 400, cause: e });
  }
}

/** Streams the body, counting against the limit and handing chunks to the pipeline's body hooks. */
export async function* inspectedBody(
  req: Readable,
  limit: number,
  x: Exchange,
  pipeline: Pipeline | undefined,
): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of clientBody(req)) {
    size += chunk.length;
    if (size > limit)
      throw new BulwarkError('BWK_ERR_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`, { status: 413 });
    if (pipeline) {
      const v = await pipeline.onRequestBody(x, chunk, false);
      if (v.kind === 'end') throw new VerdictError(v);
    }
    yield chunk;
  }
  if (pipeline) {
    const v = await pipeline.onRequestBody(x, new Uint8Array(0), true);
    if (v.kind === 'end') throw new VerdictError(v);
  }
}

/** Reads the whole body (bounded) for stages that hold it, then runs the body hooks once. */
export async function heldBody(req: Readable, limit: number, x: Exchange, pipeline: Pipeline): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of clientBody(req)) {
    size += chunk.length;
    if (size > limit)
      throw new BulwarkError('BWK_ERR_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`, { status: 413 });
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, size);
  const v = await pipeline.onRequestBody(x, body, true);
  if (v.kind === 'end') throw new VerdictError(v);
  return body;
}
