/**
 * Everything in one process: demo origin, data plane, admin API. Used by `workers: 0`, by tests and by
 * programs that embed Bulwark. The cluster mode runs the same Gateway in each worker.
 */
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type http from 'node:http';
import { AdminServer, type AdminBackend } from '../admin/index.js';
import { formatProblem, splitAddress, toMs } from '../config/index.js';
import { loadConfigFile, sectionOf, type LoadedConfig, type LoadResult } from '../bulwark-config.js';
import { startDemoOrigin } from '../demo/index.js';
import { Gateway } from '../gateway/index.js';
import { createRedisBanReplication, type ClusterConfig } from '../cluster/index.js';
import { BAN_TABLE, BanTable, type BansNodeConfig, type UnderAttackConfig } from '../ddos/index.js';
import { bind } from '../pipeline/index.js';
import { collectProcessMetrics, log, metrics, queryEvents, register } from '../observability/index.js';
import { setUnderAttack, underAttack, underAttackFromConfig, type UnderAttackState } from '../ddos/index.js';

export interface RunningNode {
  readonly gateway: Gateway;
  /** The node's ban table: the one the admin API, the state file, replication and every route's bans stage share. */
  readonly bans: BanTable;
  readonly admin: AddressInfo;
  /** Data-plane addresses by listener name. */
  listeners(): Record<string, AddressInfo>;
  reload(loaded: LoadedConfig): Promise<void>;
  close(deadlineMs?: number): Promise<void>;
}

export function readinessOf(gateway: Gateway): { ready: boolean; detail: Record<string, unknown> } {
  const pools: Record<string, number> = {};
  let any = false;
  for (const [name, pool] of gateway.runtime.pools) {
    const healthy = pool.healthyCount();
    pools[name] = healthy;
    if (healthy > 0) any = true;
  }
  return { ready: any, detail: { generation: gateway.runtime.generation, healthy_origins: pools } };
}

/** Where this configuration keeps bans across restarts, if anywhere. */
export function banStateFile(loaded: LoadedConfig): string | undefined {
  const file = sectionOf<BansNodeConfig>(loaded.config, 'bans')?.state_file;
  return file === undefined ? undefined : resolve(loaded.baseDir, file);
}

/**
 * Sets under-attack mode to what `next` says (see underAttackFromConfig); returns the new state when it set one.
 * The admin API switches the mode between reloads; the file wins again at the next one.
 */
export function applyUnderAttackConfig(next: LoadedConfig, previous?: LoadedConfig): UnderAttackState | undefined {
  const wanted = underAttackFromConfig(
    sectionOf<UnderAttackConfig>(next.config, 'under_attack'),
    previous && sectionOf<UnderAttackConfig>(previous.config, 'under_attack'),
  );
  if (!wanted) return undefined;
  const before = underAttack();
  setUnderAttack(wanted);
  if (before.enabled !== wanted.enabled || before.difficulty !== wanted.difficulty)
    log().warn(
      { underAttack: wanted, file: next.file },
      wanted.enabled ? 'under-attack mode on' : 'under-attack mode off',
    );
  return wanted;
}

export async function startDemoIfConfigured(loaded: LoadedConfig): Promise<http.Server | undefined> {
  const demo = loaded.config.demo_origin;
  if (!demo) return undefined;
  const { host, port } = splitAddress(demo.address);
  const { server, address } = await startDemoOrigin(host, port);
  log().info({ address: `${address.address}:${address.port}` }, 'demo origin listening');
  return server;
}

export async function startSingle(loaded: LoadedConfig, reloadFrom?: () => LoadResult): Promise<RunningNode> {
  collectProcessMetrics();
  const demo = await startDemoIfConfigured(loaded);
  // Made and loaded before the gateway binds, so stored bans hold from the first request.
  const bans = new BanTable();
  bans.setMaxEntries(sectionOf<BansNodeConfig>(loaded.config, 'bans')?.max_entries);
  bans.persistTo(banStateFile(loaded));
  // With Redis, bans reach every node (publish/subscribe) and outlive restarts; config changes to it need a restart.
  const redis = sectionOf<ClusterConfig>(loaded.config, 'cluster')?.redis;
  if (redis) bans.attachReplication(createRedisBanReplication(redis));
  applyUnderAttackConfig(loaded);
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(loaded, { ports: [bind(BAN_TABLE, bans)] });
  } catch (e) {
    await bans.close();
    throw e;
  }
  const reload = async (next: LoadedConfig) => {
    const previous = gateway.runtime.loaded;
    await gateway.reload(next);
    bans.persistTo(banStateFile(next));
    applyUnderAttackConfig(next, previous);
  };
  const backend: AdminBackend = {
    metrics: async () => ({ contentType: register.contentType, body: await register.metrics() }),
    readiness: () => Promise.resolve(readinessOf(gateway)),
    events: (q) => Promise.resolve(queryEvents(q)),
    underAttack: (next) => Promise.resolve(next ? setUnderAttack(next) : underAttack()),
    reload: async () => {
      const next: LoadResult = reloadFrom ? reloadFrom() : { ok: true, loaded: gateway.runtime.loaded };
      if (!next.ok) {
        metrics.configReloads.labels('refused').inc();
        return { ok: false, problems: next.problems, message: 'configuration refused; the running one keeps serving' };
      }
      try {
        await reload(next.loaded);
        return { ok: true, generation: gateway.runtime.generation };
      } catch (e) {
        metrics.configReloads.labels('refused').inc();
        return { ok: false, problems: [], message: (e as Error).message };
      }
    },
    bans,
  };
  const admin = new AdminServer(backend, loaded.config.admin);
  const adminAddress = await admin.listen(loaded.config.admin?.address ?? '127.0.0.1:9901');
  log().info({ address: `${adminAddress.address}:${adminAddress.port}` }, 'admin API listening');
  return {
    gateway,
    bans,
    admin: adminAddress,
    listeners: () => gateway.addresses(),
    reload,
    close: async (deadlineMs = toMs(loaded.config.shutdown_timeout ?? '30s')) => {
      await admin.close();
      await gateway.close(deadlineMs);
      await bans.close();
      await new Promise<void>((r) => (demo ? demo.close(() => r()) : r()));
      demo?.closeAllConnections();
    },
  };
}

/** Reload source for a config file; a refused file is logged problem by problem. */
export function fileReloader(path: string | undefined): () => LoadResult {
  return () => {
    const r = loadConfigFile(path);
    if (!r.ok) {
      for (const p of r.problems) log().error(formatProblem(p));
      log().error('configuration refused; the running configuration keeps serving');
    }
    return r;
  };
}
