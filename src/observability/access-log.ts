/**
 * The access log: one JSON line per request, appended to a file or to stdout. Lines wait in memory and go out in
 * batches, one write in flight at a time so they stay in order; a timer bounds how long a line waits when traffic
 * is light, and close() writes what is left synchronously.
 *
 * Why not pino, as for the process log: under a flood of refused requests pino + sonic-boom cost about 5 µs per
 * line (sonic-boom measures the byte length of its whole pending buffer on every write), a fifth of what a refused
 * request costs in all; JSON.stringify and an array of pending lines cost about 1 µs (docs/benchmarks.md, suite
 * `ddos`).
 */
import { closeSync, mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import client from 'prom-client';

/** Written when this many characters wait, or on the timer. */
const BATCH_CHARS = 64 * 1024;
/** Beyond this much waiting (a disk that cannot keep up), lines are dropped and counted rather than held. */
const MAX_PENDING_CHARS = 16 * 1024 * 1024;
const FLUSH_INTERVAL_MS = 1000;

const dropped = new client.Counter({
  name: 'bulwark_observability_access_log_dropped_lines_total',
  help: 'Access log lines dropped because the destination could not keep up or failed.',
});

export class AccessLog {
  private pending: string[] = [];
  private pendingChars = 0;
  private writing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly fd: number,
    private readonly ownsFd: boolean,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** `stdout` or a file path (appended to; its directory is made when missing). */
  static open(destination: string): AccessLog {
    if (destination === 'stdout') return new AccessLog(1, false);
    mkdirSync(dirname(destination), { recursive: true });
    return new AccessLog(openSync(destination, 'a'), true);
  }

  /** Appends one line; `record` is serialised as it is (keys in insertion order, undefined values left out). */
  write(record: Record<string, unknown>): void {
    this.writeLine(JSON.stringify(record) + '\n');
  }

  /** Appends one serialised line, newline included (see json-line.ts). */
  writeLine(line: string): void {
    if (this.closed) return;
    if (this.pendingChars + line.length > MAX_PENDING_CHARS) {
      dropped.inc();
      return;
    }
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= BATCH_CHARS) this.flush();
  }

  /** Starts writing what waits, unless a write is in flight (its callback picks the rest up). */
  flush(): void {
    if (this.writing || this.pending.length === 0) return;
    const batch = this.takeBatch();
    this.writing = true;
    write(this.fd, batch, null, 'utf8', (err, written) => {
      this.writing = false;
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'EAGAIN') {
        // A non-blocking stdout pipe that is full: the batch goes back in front and is tried again shortly.
        this.pending.unshift(batch);
        this.pendingChars += batch.length;
        if (!this.closed) setTimeout(() => this.flush(), 10).unref();
      } else if (err) dropped.inc(countLines(batch));
      else if (Buffer.byteLength(batch) > written) {
        // A short write (rare, on pipes): the unwritten tail goes back in front.
        const rest = Buffer.from(batch).subarray(written).toString('utf8');
        this.pending.unshift(rest);
        this.pendingChars += rest.length;
      }
      if (this.closed) this.finish();
      else if (this.pendingChars >= BATCH_CHARS) this.flush();
    });
  }

  /** Writes everything still waiting and stops accepting lines; resolves when it is all handed to the kernel. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.timer);
    return new Promise((resolve) => {
      this.onFinished = resolve;
      // With a write in flight, its callback finishes (keeping the order of lines); otherwise finish now.
      if (!this.writing) this.finish();
    });
  }

  private onFinished?: () => void;

  private finish(): void {
    if (this.pending.length > 0) {
      try {
        writeSync(this.fd, this.takeBatch());
      } catch {
        dropped.inc();
      }
    }
    if (this.ownsFd) closeSync(this.fd);
    this.onFinished?.();
  }

  private takeBatch(): string {
    const batch = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    return batch;
  }
}

function countLines(batch: string): number {
  let n = 0;
  for (let i = batch.indexOf('\n'); i >= 0; i = batch.indexOf('\n', i + 1)) n++;
  return n;
}
