/** Runs the bulwark CLI as a child process for tests that need real processes (cluster, signals, memory). */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** stderr lines so far (the process log, pino JSON). */
  readonly log: string[];
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(configFile: string): Child {
  const child = spawn(process.execPath, [MAIN, 'start', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    log.push(...lines);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { process: child, pid: child.pid!, log, exited, kill: (s = 'SIGKILL') => void child.kill(s) };
}

/** A port that was free a moment ago (bind 0, read, close). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Waits until the child's admin API says ready (`/readyz` 200). Generous, since a loaded CI machine starting Node
 * and Bulwark beside other tests can take many seconds; on a timeout the error carries what the child printed.
 */
export async function waitReady(child: Child, adminBase: string, timeoutMs = 45_000): Promise<void> {
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${adminBase}/readyz`);
        await res.arrayBuffer();
        return res.status === 200;
      },
      timeoutMs,
      'readiness',
    );
  } catch (e) {
    const state = child.process.exitCode ?? child.process.signalCode ?? 'running';
    throw new Error(`${(e as Error).message}; child ${state}; its last output:\n${child.log.slice(-20).join('\n')}`);
  }
}

/** Child processes of a pid (the cluster workers of a primary). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
