/** How a node runs: one process (`workers: 0`, tests, embedding) or a primary with workers. */
export { startSingle, fileReloader, readinessOf, type RunningNode } from './single.js';
export { runPrimary, runWorker } from './cluster.js';
