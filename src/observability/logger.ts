/**
 * Two pino loggers: the process log (lifecycle, errors, reloads) and the access log (one line per request).
 * Both write asynchronously through sonic-boom so logging never blocks the event loop per request.
 */
import { pino, type Logger } from 'pino';
import type { LogConfig } from '../config/index.js';

export type { Logger };

let processLogger: Logger = pino({ level: 'info', base: { pid: process.pid } });

export function configureProcessLogger(config: LogConfig | undefined): Logger {
  processLogger = pino(
    { level: config?.level ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: false, minLength: 0 }),
  );
  return processLogger;
}

export function log(): Logger {
  return processLogger;
}

export function createAccessLogger(config: LogConfig | undefined): Logger | undefined {
  const access = config?.access;
  if (access?.enabled === false) return undefined;
  const destination = access?.destination ?? 'stdout';
  const dest =
    destination === 'stdout'
      ? pino.destination({ dest: 1, sync: false, minLength: 4096 })
      : pino.destination({ dest: destination, sync: false, mkdir: true, minLength: 4096 });
  // A periodic flush bounds how long a line may sit in the buffer when traffic is light.
  const timer = setInterval(() => dest.flush(), 1000);
  timer.unref();
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
}
