/**
 * Errors are values with codes. Callers branch on `err.code`, never on message text.
 * Each area declares its codes here; `docs/errors.md` has a heading per code and a test keeps the two in step.
 * Codes are never reused: retire one by leaving it out, not by giving its name a new meaning.
 */
export const ERROR_CODES = {
  BWK_ERR_CONFIG_INVALID: 'The configuration failed validation; the error lists every problem with file:line:col.',
  BWK_ERR_CONFIG_READ: 'The configuration file could not be read or parsed as YAML.',
  BWK_ERR_CONFIG_ENV: 'A ${VAR} in the configuration names an environment variable that is not set.',
  BWK_ERR_TLS_CERT: 'A TLS certificate or key file could not be read or does not form a valid pair.',
  BWK_ERR_LISTEN: 'A listener could not bind its address.',
  BWK_ERR_GATEWAY_NO_ROUTE: 'No route matches the request host, path and method.',
  BWK_ERR_GATEWAY_NO_ORIGIN: 'The route pool and its failover pools have no healthy origin.',
  BWK_ERR_GATEWAY_ORIGIN_CONNECT: 'The origin refused or dropped the connection.',
  BWK_ERR_GATEWAY_ORIGIN_TIMEOUT: 'The origin did not answer within the route timeout.',
  BWK_ERR_GATEWAY_ORIGIN_PROTOCOL: 'The origin answered with something that is not valid HTTP.',
  BWK_ERR_BODY_TOO_LARGE: 'The request body is larger than the route allows.',
  BWK_ERR_URI_TOO_LONG: 'The request target is longer than the listener allows.',
  BWK_ERR_HEADERS_TOO_LARGE: 'The request header block is larger than the listener allows.',
  BWK_ERR_HEADERS_TIMEOUT: 'The request headers did not arrive within the listener deadline.',
  BWK_ERR_BODY_TOO_SLOW: 'The request body arrived slower than the listener minimum rate (limits.body_min_rate).',
  BWK_ERR_BAD_REQUEST: 'The request is malformed (smuggling shape, invalid header, bad chunk).',
  BWK_ERR_METHOD_NOT_ALLOWED:
    'CONNECT or TRACE was sent to the gateway: it is a reverse proxy that does not tunnel, and it does not echo requests.',
  BWK_ERR_TRANSFER_CODING:
    'The request body uses a transfer coding other than chunked, which the gateway does not decode.',
  BWK_ERR_GATEWAY_LOOP: 'The request already passed through Bulwark several times (its Via header): a forwarding loop.',
  BWK_ERR_STAGE_FAILED: 'A pipeline stage threw; the request is refused rather than passed unchecked.',
  BWK_ERR_ADMIN_UNAUTHORIZED: 'A mutating admin endpoint was called without a valid bearer token.',
  BWK_ERR_ADMIN_NOT_FOUND: 'No admin endpoint at that path and method.',
  BWK_ERR_WAF_RULES: 'The WAF rule set (CRS or your SecLang files) failed to load; each problem names file:line.',
  BWK_ERR_GEO_DATABASE: 'A geo stage database is not a usable MaxMind DB file; the message names the path and why.',
  BWK_ERR_RELOAD_FAILED: 'A configuration reload was refused; the running configuration keeps serving.',
  BWK_ERR_BAN_INVALID: 'A ban request to the admin API named an invalid target or duration, or was not valid JSON.',
  BWK_ERR_BAN_NOT_FOUND: 'The admin API was asked to lift a ban on a target that is not banned.',
  BWK_ERR_CHALLENGE_SECRET: 'A challenge secret_file could not be read or holds fewer than 32 bytes.',
  BWK_ERR_ADMIN_BAD_REQUEST: 'An admin endpoint was sent a body it cannot use (not JSON, wrong fields).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BulwarkError extends Error {
  readonly code: ErrorCode;
  /** HTTP status when the error reaches a client; 500 when it never should. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.status = options.status ?? 500;
  }
}

export function isBulwarkError(value: unknown): value is BulwarkError {
  return value instanceof BulwarkError;
}
