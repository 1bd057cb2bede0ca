export { configureProcessLogger, createAccessLogger, log, type Logger } from './logger.js';
export { AccessLog } from './access-log.js';
export { isoNow } from './clock.js';
export { batchedCounter, type CountChild } from './batched.js';
export { collectProcessMetrics, metrics, register } from './metrics.js';
export {
  parseEventQuery,
  queryEvents,
  recordEvent,
  setEventCapacity,
  type EventQuery,
  type SecurityEvent,
} from './events.js';
