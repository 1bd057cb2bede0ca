/**
 * `workers: N`: the primary runs the admin API and the demo origin and supervises N workers, each running the
 * same Gateway. The primary validates every configuration before any worker sees it, so a bad reload is refused
 * in one place. Workers that die are replaced, with a growing delay when they die young (a crash loop).
 *
 * Bans: the primary holds the node's ban table (admin API, state file, replication) and sends every change to
 * every worker; a worker's automatic ban goes to the primary, which passes it on to the other workers, so a ban
 * holds whichever worker a connection lands on.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import client from 'prom-client';
import { AdminServer, type AdminBackend } from '../admin/index.js';
import { toBytes, toMs } from '../config/index.js';
import { loadConfigText, sectionOf, type LoadedConfig, type LoadResult } from '../bulwark-config.js';
import { Gateway } from '../gateway/index.js';
import { createRedisBanReplication, type ClusterConfig } from '../cluster/index.js';
import { BAN_TABLE, BanTable, type BanChange, type BansNodeConfig } from '../ddos/index.js';
import type { WafConfig } from '../waf/index.js';
import { bind } from '../pipeline/index.js';
import {
  collectProcessMetrics,
  configureProcessLogger,
  eventCapacity,
  ingestEvents,
  log,
  queryEvents,
  setEventCapacity,
  setEventSink,
  type UnnumberedEvent,
} from '../observability/index.js';
import { EventRelay } from './event-relay.js';
import { ClientHashBalancer, type HandedConnection } from './balance.js';
import { applyUnderAttackConfig, banStateFile, readinessOf, startDemoIfConfigured } from './single.js';
import { getNodeSecret, setNodeSecret, setUnderAttack, underAttack, type UnderAttackState } from '../ddos/index.js';

/** Tells a worker that the primary accepts and hands connections over (workers_balance: client_hash). */
const HANDED_ENV = 'BULWARK_HANDED_CONNECTIONS';

type ToWorker =
  | { type: 'config'; seq: number; text: string; file: string; baseDir: string }
  | { type: 'readiness'; seq: number }
  | { type: 'metrics'; seq: number }
  | { type: 'drain'; deadlineMs: number }
  | { type: 'bans'; changes: BanChange[] }
  // The node's challenge secret (so a cookie is good on every worker) and the under-attack mode.
  | { type: 'challenge'; secret: string; underAttack: UnderAttackState }
  | HandedConnection;
type FromWorker =
  | { type: 'listening-for-config' }
  | { type: 'config-result'; seq: number; ok: boolean; error?: string; generation?: number }
  | { type: 'readiness-result'; seq: number; ready: boolean; detail: Record<string, unknown> }
  | { type: 'metrics-result'; seq: number; metrics: client.MetricObjectWithValues<client.MetricValue<string>>[] }
  // A worker's events, numbered and kept by the primary (event-relay.ts); `dropped` waited too long to be sent.
  | { type: 'events'; events: UnnumberedEvent[]; dropped: number }
  | { type: 'ban-change'; change: BanChange };

const primaryRegistry = new client.Registry();
const workerRestarts = new client.Counter({
  name: 'bulwark_process_worker_restarts_total',
  help: 'Workers that died and were replaced.',
  registers: [primaryRegistry],
});
const workersUp = new client.Gauge({
  name: 'bulwark_process_workers',
  help: 'Workers running now.',
  registers: [primaryRegistry],
});
const eventsDropped = new client.Counter({
  name: 'bulwark_process_events_dropped_total',
  help: "Workers' security events dropped before they reached the primary, which was a ring's capacity behind.",
  registers: [primaryRegistry],
});

let seq = 0;

function ask<T extends FromWorker>(worker: Worker, msg: ToWorker & { seq: number }, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.off('message', onMessage);
      reject(new Error(`worker ${worker.id} did not answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: FromWorker) => {
      if (m && typeof m === 'object' && 'seq' in m && m.seq === msg.seq) {
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(m as T);
      }
    };
    worker.on('message', onMessage);
    worker.send(msg);
  });
}

/**
 * Node flags for the workers: the primary's own, plus the configured V8 old-space limit unless node was already
 * given one (on its command line or in NODE_OPTIONS, which workers inherit).
 */
export function workerExecArgv(loaded: LoadedConfig, execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(a));
  if (given) return [...execArgv];
  const mib = Math.max(64, Math.floor(toBytes(loaded.config.worker_heap_limit ?? '1GiB') / 1048576));
  return [...execArgv, `--max-old-space-size=${mib}`];
}

/** Behind trusted proxies the TCP peer is a proxy: hashing it would give one worker the whole node. */
function defaultBalance(loaded: LoadedConfig): 'client_hash' | 'kernel' {
  return (loaded.config.trusted_proxies?.length ?? 0) > 0 ? 'kernel' : 'client_hash';
}

export async function runPrimary(loaded: LoadedConfig, workers: number, reloadFrom: () => LoadResult): Promise<void> {
  let current = loaded;
  let stopping = false;
  const demo = await startDemoIfConfigured(loaded);
  const live = new Set<Worker>();
  /** Workers that have started and answered their first configuration: the only ones asked for metrics. */
  const ready = new Set<Worker>();
  let recentDeaths = 0;
  const challengeMessage = (): ToWorker => ({
    type: 'challenge',
    secret: getNodeSecret().toString('base64'),
    underAttack: underAttack(),
  });

  // Before any worker: each gets the mode with the secret, before its first configuration.
  applyUnderAttackConfig(loaded);
  // The node's events are kept here, numbered as they arrive from the workers (one order a reader pages through).
  setEventCapacity(sectionOf<WafConfig>(loaded.config, 'waf')?.events?.keep ?? 1000);

  const bans = new BanTable();
  bans.setMaxEntries(sectionOf<BansNodeConfig>(loaded.config, 'bans')?.max_entries);
  bans.persistTo(banStateFile(loaded));
  // With Redis, bans reach every node (publish/subscribe) and outlive restarts; config changes to it need a restart.
  const redis = sectionOf<ClusterConfig>(loaded.config, 'cluster')?.redis;
  if (redis) bans.attachReplication(createRedisBanReplication(redis));
  /** Workers whose message handler is up: from then on they get every ban change. */
  const listening = new Set<Worker>();
  const sendBans = (w: Worker, changes: BanChange[]) => {
    if (w.isConnected()) w.send({ type: 'bans', changes } satisfies ToWorker);
  };
  bans.onChange((change, origin) => {
    // A worker's change is passed on to the other workers where it arrives; expiry happens in every process.
    if (origin === 'worker' || origin === 'expiry') return;
    for (const w of listening) sendBans(w, [change]);
  });
  // Read once: workers bind their own sockets or they do not, for the life of the node.
  const balancer =
    (loaded.config.workers_balance ?? defaultBalance(loaded)) === 'client_hash'
      ? new ClientHashBalancer(workers)
      : undefined;
  /** With client_hash, the node is ready only once the primary accepts (after every worker has started). */
  let accepting = balancer === undefined;

  const configure = (w: Worker, l: LoadedConfig) =>
    ask<Extract<FromWorker, { type: 'config-result' }>>(
      w,
      { type: 'config', seq: ++seq, text: l.source, file: l.file, baseDir: l.baseDir },
      60_000,
    );

  const fork = async (slot: number): Promise<void> => {
    const w = cluster.fork(balancer ? { [HANDED_ENV]: '1' } : {});
    live.add(w);
    workersUp.set(live.size);
    const bornAt = Date.now();
    w.on('message', (m: FromWorker) => {
      if (m?.type === 'events') {
        ingestEvents(m.events);
        if (m.dropped > 0) eventsDropped.inc(m.dropped);
        return;
      }
      if (m?.type !== 'ban-change') return;
      if (!bans.apply(m.change, 'worker')) return;
      for (const other of listening) if (other !== w) sendBans(other, [m.change]);
    });
    w.once('exit', (code, signal) => {
      live.delete(w);
      ready.delete(w);
      listening.delete(w);
      // Its clients move to the live workers until the replacement is ready (their limit state starts afresh).
      if (balancer?.slotOf(w) === slot) balancer.setWorker(slot, undefined);
      workersUp.set(live.size);
      if (stopping) return;
      workerRestarts.inc();
      const young = Date.now() - bornAt < 5000;
      recentDeaths = young ? recentDeaths + 1 : 0;
      const delay = Math.min(30_000, young ? 250 * 2 ** Math.min(recentDeaths, 7) : 0);
      log().error({ worker: w.id, code, signal, restartInMs: delay }, 'worker died; replacing it');
      setTimeout(() => void fork(slot).catch((e: unknown) => log().error({ err: e }, 'worker start failed')), delay);
    });
    // Not 'online': that fires before the worker's ES modules have loaded, and a message sent then is lost.
    await new Promise<void>((r) => {
      const onMessage = (m: FromWorker) => {
        if (m?.type === 'listening-for-config') {
          w.off('message', onMessage);
          // The bans in force now, then every change after them, in order on the one IPC channel.
          listening.add(w);
          sendBans(
            w,
            bans.list().map((ban) => ({ kind: 'add', ban })),
          );
          r();
        }
      };
      w.on('message', onMessage);
    });
    // Before the first configuration: the challenge stages it builds sign with the node's secret.
    w.send(challengeMessage());
    const startedWith = current;
    const result = await configure(w, startedWith);
    if (!result.ok) throw new Error(`worker ${w.id} could not start: ${result.error}`);
    ready.add(w);
    // A reload that completed while this worker was starting did not reach it: bring it up to date.
    if (startedWith !== current) await configure(w, current);
    balancer?.setWorker(slot, w);
  };

  const reload = async (): Promise<Awaited<ReturnType<AdminBackend['reload']>>> => {
    const r = reloadFrom();
    if (!r.ok)
      return { ok: false, problems: r.problems, message: 'configuration refused; the running one keeps serving' };
    // Workers still starting are left out: they take `current` once they have started (see fork).
    const results = await Promise.allSettled([...ready].map((w) => configure(w, r.loaded)));
    const failed = results.flatMap((x) =>
      x.status === 'rejected' ? [String(x.reason)] : x.value.ok ? [] : [x.value.error ?? 'unknown error'],
    );
    if (failed.length > 0) return { ok: false, problems: [], message: failed.join('; ') };
    // The file's under-attack mode, relayed as the admin switch is (workers never read it from their config).
    if (applyUnderAttackConfig(r.loaded, current)) for (const w of listening) w.send(challengeMessage());
    current = r.loaded;
    setEventCapacity(sectionOf<WafConfig>(r.loaded.config, 'waf')?.events?.keep ?? 1000);
    bans.setMaxEntries(sectionOf<BansNodeConfig>(r.loaded.config, 'bans')?.max_entries);
    bans.persistTo(banStateFile(r.loaded));
    try {
      await balancer?.apply(r.loaded.config.listeners);
    } catch (e) {
      return { ok: false, problems: [], message: (e as Error).message };
    }
    const first = results[0];
    return { ok: true, generation: first?.status === 'fulfilled' ? first.value.generation : undefined };
  };

  const backend: AdminBackend = {
    // Only started workers are asked, each with its own timeout: a worker still starting (or stuck) must not
    // fail the scrape, as prom-client's clusterMetrics() does when one worker does not answer.
    metrics: async () => {
      const answers = await Promise.allSettled(
        [...ready].map((w) =>
          ask<Extract<FromWorker, { type: 'metrics-result' }>>(w, { type: 'metrics', seq: ++seq }, 2000),
        ),
      );
      const perWorker = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value.metrics] : []));
      // The primary's own (bans made through the admin API here) are summed in with the workers'.
      perWorker.push(await client.register.getMetricsAsJSON());
      const summed = client.AggregatorRegistry.aggregate(perWorker);
      return {
        contentType: summed.contentType,
        body: (await summed.metrics()) + '\n' + (await primaryRegistry.metrics()),
      };
    },
    // Kept here: the workers send theirs as they happen (see event-relay.ts).
    events: (query) => Promise.resolve(queryEvents(query)),
    readiness: async () => {
      const answers = await Promise.allSettled(
        [...ready].map((w) =>
          ask<Extract<FromWorker, { type: 'readiness-result' }>>(w, { type: 'readiness', seq: ++seq }, 2000),
        ),
      );
      const anyReady = accepting && answers.some((a) => a.status === 'fulfilled' && a.value.ready);
      const first = answers.find((a) => a.status === 'fulfilled');
      return {
        ready: anyReady,
        detail: { workers: live.size, ...(first?.status === 'fulfilled' ? first.value.detail : {}) },
      };
    },
    reload,
    bans,
    underAttack: (next) => {
      if (next) {
        setUnderAttack(next);
        for (const w of listening) w.send(challengeMessage());
      }
      return Promise.resolve(underAttack());
    },
  };
  const admin = new AdminServer(backend, loaded.config.admin);
  const adminAddress = await admin.listen(loaded.config.admin?.address ?? '127.0.0.1:9901');
  log().info({ address: `${adminAddress.address}:${adminAddress.port}`, workers }, 'admin API listening');

  process.on('SIGHUP', () => {
    void reload().then((r) => (r.ok ? undefined : log().error({ message: r.message }, 'reload refused')));
  });
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const deadlineMs = toMs(current.config.shutdown_timeout ?? '30s');
    log().info({ signal, deadlineMs }, 'draining');
    balancer?.close();
    await admin.close();
    const exits = [...live].map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    for (const w of live) w.send({ type: 'drain', deadlineMs } satisfies ToWorker);
    const hard = setTimeout(() => {
      for (const w of live) w.process.kill('SIGKILL');
    }, deadlineMs + 5000);
    await Promise.all(exits);
    clearTimeout(hard);
    demo?.closeAllConnections();
    demo?.close();
    await bans.close();
    log().info('stopped');
    log().flush();
    setTimeout(() => process.exit(0), 50);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  cluster.setupPrimary({ execArgv: workerExecArgv(loaded, process.execArgv, process.env.NODE_OPTIONS) });
  // Workers last: by now a signal is handled and /readyz answers (503 until a worker is ready).
  await Promise.all(Array.from({ length: workers }, (_, slot) => fork(slot)));
  // Accept only once every worker is ready, so no client starts on a stand-in worker.
  await balancer?.apply(current.config.listeners);
  accepting = true;
}

export function runWorker(): void {
  collectProcessMetrics();
  let gateway: Gateway | undefined;
  /** The log settings in force, so a reload that changes them (and only that) makes a new logger. */
  let logSettings: string | undefined;
  // Made before the first configuration: the primary sends the bans in force as soon as this worker listens.
  const bans = new BanTable();
  bans.onChange((change, origin) => {
    if (origin === 'local') process.send?.({ type: 'ban-change', change } satisfies FromWorker);
  });
  const relay = new EventRelay({
    // process.send calls back once the message is written, or with the error when the channel is closed.
    send: (events, dropped, done) => {
      if (process.send) process.send({ type: 'events', events, dropped } satisfies FromWorker, undefined, {}, done);
      else done();
    },
    maxPending: eventCapacity,
  });
  setEventSink((e) => relay.push(e));
  /** The events still waiting reach the primary before the worker exits (bounded: a primary gone never answers). */
  const sendLastEvents = async () => {
    relay.flush();
    for (let i = 0; i < 40 && relay.waiting > 0 && process.connected; i++) await new Promise((r) => setTimeout(r, 25));
  };
  // Ctrl-C reaches the whole process group; the primary decides when workers drain.
  process.on('SIGINT', () => {});
  const terminate = async () => {
    await gateway?.close(5000);
    await sendLastEvents();
    process.exit(0);
  };
  process.on('SIGTERM', () => void terminate());
  const handed = process.env[HANDED_ENV] === '1';
  process.on('message', (msg: ToWorker, handle?: unknown) => {
    if (msg.type === 'connection') {
      const socket = handle as Socket | undefined;
      if (gateway && socket) gateway.adopt(msg.listener, socket);
      else socket?.destroy();
      return;
    }
    void (async () => {
      if (msg.type === 'config') {
        const r = loadConfigText(msg.text, msg.file, msg.baseDir);
        if (!r.ok) {
          process.send?.({ type: 'config-result', seq: msg.seq, ok: false, error: 'configuration refused' });
          return;
        }
        // The process log as configured (level, stderr), as the primary's: not pino's default, info on stdout.
        const wanted = JSON.stringify(r.loaded.config.log ?? {});
        if (wanted !== logSettings) {
          log().flush();
          configureProcessLogger(r.loaded.config.log);
          logSettings = wanted;
        }
        try {
          if (gateway) await gateway.reload(r.loaded);
          else gateway = await Gateway.start(r.loaded, { ports: [bind(BAN_TABLE, bans)], handedConnections: handed });
          process.send?.({
            type: 'config-result',
            seq: msg.seq,
            ok: true,
            generation: gateway.runtime.generation,
          } satisfies FromWorker);
        } catch (e) {
          process.send?.({ type: 'config-result', seq: msg.seq, ok: false, error: (e as Error).message });
        }
      } else if (msg.type === 'challenge') {
        setNodeSecret(msg.secret);
        setUnderAttack(msg.underAttack);
      } else if (msg.type === 'metrics') {
        const metrics = await client.register.getMetricsAsJSON();
        process.send?.({ type: 'metrics-result', seq: msg.seq, metrics } satisfies FromWorker);
      } else if (msg.type === 'readiness') {
        const r = gateway ? readinessOf(gateway) : { ready: false, detail: {} };
        process.send?.({ type: 'readiness-result', seq: msg.seq, ...r } satisfies FromWorker);
      } else if (msg.type === 'bans') {
        for (const change of msg.changes) bans.apply(change, 'primary');
      } else if (msg.type === 'drain') {
        await gateway?.close(msg.deadlineMs);
        await sendLastEvents();
        log().flush();
        process.exit(0);
      }
    })();
  });
  process.send?.({ type: 'listening-for-config' } satisfies FromWorker);
}
