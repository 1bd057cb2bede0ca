/**
 * The process log (lifecycle, errors, reloads) is pino, written asynchronously through sonic-boom; the access log
 * (one line per request, the hot path) has a writer of its own in access-log.ts.
 */
import { pino, type Logger } from 'pino';
import { AccessLog } from './access-log.js';
import type { LogConfig } from './schema.js';

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

export function createAccessLogger(config: LogConfig | undefined): AccessLog | undefined {
  const access = config?.access;
  if (access?.enabled === false) return undefined;
  return AccessLog.open(access?.destination ?? 'stdout');
}
