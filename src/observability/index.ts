export { configureProcessLogger, createAccessLogger, log, type Logger } from './logger.js';
export { AccessLog } from './access-log.js';
export { isoNow } from './clock.js';
export { batchedCounter, type CountChild } from './batched.js';
export { collectProcessMetrics, metrics, register } from './metrics.js';
export {
  eventCapacity,
  eventLogLevel,
  ingestEvents,
  parseEventQuery,
  queryEvents,
  recordEvent,
  setEventCapacity,
  setEventSink,
  type EventPage,
  type EventQuery,
  type SecurityEvent,
  type UnnumberedEvent,
} from './events.js';
