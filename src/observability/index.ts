export { configureProcessLogger, createAccessLogger, log, type Logger } from './logger.js';
export { collectProcessMetrics, metrics, register } from './metrics.js';
