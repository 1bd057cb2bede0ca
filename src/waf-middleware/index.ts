/**
 * The WAF as Node middleware, published as `bulwark/waf`: the gateway's engine and CRS in front of a node:http,
 * Express or Fastify app, with the gateway's problem details.
 * @example
 *   import { createWaf } from 'bulwark/waf';
 *   const waf = createWaf({ paranoiaLevel: 1 });
 *   expressApp.use(waf); // or: await fastifyApp.register(waf.fastify)
 */
export { createWaf, WafLoadError, type CreateWafOptions, type WafEvent, type WafMiddleware } from './middleware.js';
