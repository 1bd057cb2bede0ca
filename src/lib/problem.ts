/**
 * RFC 9457 problem details as every Bulwark answer writes them (the gateway, the WAF middleware): `code` is a stable
 * BWK_ERR_* or a verdict reason (`waf:blocked`), so clients branch on it, and `request_id` ties the answer to logs.
 */
import { STATUS_CODES } from 'node:http';

export interface Problem {
  status: number;
  code: string;
  detail?: string;
  requestId: string;
}

export function problemBody(p: Problem): string {
  return JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[p.status] ?? 'Error',
    status: p.status,
    detail: p.detail,
    code: p.code,
    request_id: p.requestId,
  });
}
