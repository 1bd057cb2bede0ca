export { configureProcessLogger, createAccessLogger, log, type Logger } from './logger.js';
export { AccessLog } from './access-log.js';
export { collectProcessMetrics, metrics, register } from './metrics.js';
export {
  parseEventQuery,
  queryEvents,
  recordEvent,
  setEventCapacity,
  type EventQuery,
  type SecurityEvent,
} from './events.js';
