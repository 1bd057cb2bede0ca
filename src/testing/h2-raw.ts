/**
 * HTTP/2 frames written by hand, for requests node:http2's client refuses to send (connection-specific fields,
 * upper-case names, bad values, pseudo-headers out of order, a content-length DATA contradicts). Header blocks use
 * HPACK literals without indexing or Huffman coding, which every decoder must accept (RFC 7541 §6.2.2).
 */
import net from 'node:net';

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7)), bytes]);
}

/** A header block of literal fields without indexing, in the order given, names and values byte for byte. */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) parts.push(Buffer.from([0]), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A HEADERS frame on `stream` holding the whole block; END_STREAM when the request has no body. */
export function headersFrame(stream: number, fields: ReadonlyArray<readonly [string, string]>, endStream: boolean) {
  return frame(FRAME.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, headerBlock(fields));
}

export function dataFrame(stream: number, data: string, endStream: boolean): Buffer {
  return frame(FRAME.DATA, endStream ? END_STREAM : 0, stream, Buffer.from(data, 'latin1'));
}

function parseFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    frames.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}

/**
 * Opens a cleartext HTTP/2 connection (prior knowledge), sends the preface, an empty SETTINGS and `frames`, and
 * returns the frames the server sent until it closed or `waitMs` passed.
 */
export function h2Exchange(port: number, frames: Buffer[], waitMs = 500): Promise<Frame[]> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), ...frames]));
    });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseFrames(Buffer.concat(chunks)));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', done);
    socket.on('error', done);
  });
}

/** The RST_STREAM error code the server sent for `stream`, or undefined when it did not reset it. */
export function resetCode(frames: readonly Frame[], stream: number): number | undefined {
  const rst = frames.find((f) => f.type === FRAME.RST_STREAM && f.stream === stream);
  return rst?.payload.readUInt32BE(0);
}

/** True when the server sent response HEADERS on `stream`. */
export function answered(frames: readonly Frame[], stream: number): boolean {
  return frames.some((f) => f.type === FRAME.HEADERS && f.stream === stream);
}
