/** The gateway: listeners, routes, origin pools and the proxy; the terminal stage of every pipeline. */
export { Gateway } from './gateway.js';
export type { Runtime, RouteRuntime } from './runtime.js';
export {
  ListenerSchema,
  PoolSchema,
  LimitsSchema,
  routeSchema,
  type GatewayConfig,
  type RouteConfig,
} from './schema.js';
