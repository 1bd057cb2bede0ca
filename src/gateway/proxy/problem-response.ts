/** Writing a problem-details answer on a response object (the raw-socket form lives in ../problem.ts). */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ClientResponse } from '../handler.js';
import { problemBody, problemHeaders } from '../problem.js';

export function sendProblem(
  res: ClientResponse,
  status: number,
  code: string,
  detail: string | undefined,
  requestId: string,
  extra?: OutgoingHttpHeaders,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody({ status, code, detail, requestId });
  res.writeHead(status, problemHeaders(body, requestId, extra));
  res.end(body);
}
