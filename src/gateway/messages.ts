/**
 * The client's request and response as the gateway receives them: Node's HTTP/1.1 objects or HTTP/2's
 * compatibility API. A leaf, so that the handler, the listeners and the proxy can all name them without
 * importing one another.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type ClientRequest = IncomingMessage | Http2ServerRequest;
export type ClientResponse = ServerResponse | Http2ServerResponse;
