/** The built-in demo origin that the embedded default configuration proxies to. */
export { startDemoOrigin } from './origin.js';
