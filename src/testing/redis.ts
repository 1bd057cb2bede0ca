/**
 * A real redis-server for tests (the Debian package; CI installs it): random free port on 127.0.0.1, no
 * persistence, scratch directory. stop() kills it as a crash would (SIGKILL); start() brings it back on the same
 * port, empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './spawn.js';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** Sends a signal to the server: SIGSTOP stalls it (connections stay open, nothing answers), SIGCONT resumes. */
  signal(sig: NodeJS.Signals): void;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    child = spawn(REDIS_SERVER, [...args, '--dir', dir, '--logfile', ''], { stdio: 'ignore' });
    const c = child;
    exited = new Promise((r) => c.once('exit', () => r()));
    await waitFor(() => accepts(port), 10_000, `redis-server on port ${port}`);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    signal: (sig) => void child?.kill(sig),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
