/**
 * One process's data plane: listeners plus the current Runtime. `reload` builds everything new before it
 * swaps anything; if building fails, nothing changes and the error says why.
 */
import type { AddressInfo, Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { LoadedConfig } from '../bulwark-config.js';
import { splitAddress, toBytes, toMs } from '../config/index.js';
import type { PortBinding } from '../pipeline/index.js';
import { log, metrics } from '../observability/index.js';
import { createRequestHandler } from './handler.js';
import type { ClientRequest } from './messages.js';
import { requestIdFor } from './proxy/headers.js';
import { createUpgradeHandler } from './upgrade.js';
import { Listener, type ListenerLimits } from './listeners/listener.js';
import { buildRuntime, retireRuntime, type Runtime } from './runtime.js';
import type { ListenerConfig } from './schema.js';

function limitsOf(loaded: LoadedConfig): ListenerLimits {
  const l = loaded.config.limits;
  return {
    headerBytes: toBytes(l?.header_bytes ?? '16KiB'),
    uriBytes: toBytes(l?.uri_bytes ?? '8KiB'),
    headersTimeoutMs: toMs(l?.headers_timeout ?? '10s'),
    keepAliveTimeoutMs: toMs(l?.keepalive_timeout ?? '60s'),
    connectionsPerClient: l?.connections_per_client,
    connectionsTotal: l?.connections_total,
    newConnectionsPerSecondPerClient: l?.new_connections_per_second_per_client,
    bodyMinRate: l?.body_min_rate ?? 240,
    bodyMinRateGraceMs: toMs(l?.body_min_rate_grace ?? '5s'),
    sendTimeoutMs: toMs(l?.send_timeout ?? '30s'),
    maxRequestsPerConnection: l?.max_requests_per_connection ?? 1000,
    h2MaxConcurrentStreams: l?.h2_max_concurrent_streams ?? 128,
    h2StreamResetBurst: l?.h2_stream_reset_burst,
    h2StreamResetRate: l?.h2_stream_reset_rate,
  };
}

interface Bound {
  readonly config: ListenerConfig;
  readonly listener: Listener;
  readonly address: AddressInfo;
}

export class Gateway {
  private current!: Runtime;
  private readonly bound = new Map<string, Bound>();
  private draining = false;
  private readonly handle = createRequestHandler({
    runtime: () => this.current,
    isDraining: () => this.draining,
  });
  private readonly upgrade = createUpgradeHandler(() => this.current, this.handle);
  /** The id the handler would give a request; the listeners ask it for the requests whose body they watch. */
  private readonly requestId = (req: ClientRequest): string => {
    const trusted = this.current.trusted;
    return requestIdFor(req.headers['x-request-id'], trusted.size > 0 && trusted.has(req.socket?.remoteAddress ?? ''));
  };

  private constructor(private readonly handedConnections = false) {}

  /** A connection the primary accepted for listener `name`; closed when no such listener runs here. */
  adopt(name: string, socket: Socket): void {
    const b = this.bound.get(name);
    if (b && !this.draining) b.listener.adopt(socket);
    else socket.destroy();
  }

  /**
   * @param options.ports services the process binds for the stages, e.g. its ban table (BAN_TABLE), made before the
   *   gateway so that bans loaded or received early hold; a module whose port is unbound makes its own
   * @param options.handedConnections listeners bind nothing; the primary hands each connection to `adopt`
   *   (`workers_balance: client_hash`, src/process/balance.ts)
   */
  static async start(
    loaded: LoadedConfig,
    options: { ports?: readonly PortBinding<unknown>[]; handedConnections?: boolean } = {},
  ): Promise<Gateway> {
    const g = new Gateway(options.handedConnections === true);
    g.current = buildRuntime(loaded, undefined, options.ports ?? []);
    try {
      await g.bindListeners(loaded);
    } catch (e) {
      await g.close(0);
      throw e;
    }
    return g;
  }

  get runtime(): Runtime {
    return this.current;
  }

  /** Where each listener is bound, by name (the port is real even when the config said 0). */
  addresses(): Record<string, AddressInfo> {
    return Object.fromEntries([...this.bound].map(([n, b]) => [n, b.address]));
  }

  private async bindListeners(loaded: LoadedConfig): Promise<void> {
    const limits = limitsOf(loaded);
    const wanted = new Map(loaded.config.listeners.map((l) => [l.name, l]));
    // Removed or changed listeners are drained; unchanged ones only get new certificates.
    for (const [name, b] of this.bound) {
      const next = wanted.get(name);
      const same =
        next &&
        next.address === b.config.address &&
        isDeepStrictEqual(next.protocols, b.config.protocols) &&
        Boolean(next.tls) === Boolean(b.config.tls);
      if (same) {
        b.listener.setCertificates(next.tls, loaded.baseDir);
        wanted.delete(name);
      } else {
        this.bound.delete(name);
        void b.listener.drain(30_000);
      }
    }
    for (const [name, config] of wanted) {
      const listener = new Listener(config, limits, {
        handle: this.handle,
        requestId: this.requestId,
        upgrade: this.upgrade,
        refused: (r) => this.current?.inspectRefused?.(r),
        baseDir: loaded.baseDir,
      });
      let address: AddressInfo;
      if (this.handedConnections) {
        listener.acceptHandedConnections();
        const { host, port } = splitAddress(config.address);
        address = { address: host, port, family: host.includes(':') ? 'IPv6' : 'IPv4' };
      } else address = await listener.listen(config.address);
      this.bound.set(name, { config, listener, address });
      log().info({ listener: name, address: `${address.address}:${address.port}` }, 'listening');
    }
  }

  /** Builds the new configuration whole, then swaps it in. Throws (and changes nothing) if building fails. */
  async reload(loaded: LoadedConfig): Promise<void> {
    const next = buildRuntime(loaded, this.current);
    await this.bindListeners(loaded);
    const old = this.current;
    this.current = next;
    metrics.configReloads.labels('ok').inc();
    log().info({ generation: next.generation, file: loaded.file }, 'configuration reloaded');
    void retireRuntime(old, next, toMs(loaded.config.shutdown_timeout ?? '30s'));
  }

  /** Drain: stop accepting, finish requests in flight up to the deadline, close origin pools. */
  async close(deadlineMs: number): Promise<void> {
    this.draining = true;
    await Promise.all([...this.bound.values()].map((b) => b.listener.drain(deadlineMs)));
    this.bound.clear();
    if (this.current) {
      await retireRuntime(this.current, undefined, 0);
      // Lines still buffered would be lost when the process exits right after the drain.
      await this.current.accessLog?.close();
    }
  }
}
