/** The per-request object stages see. Rarely used parts (notes, signal) are created on first use. */
import type { ClientInfo, Exchange, RequestHead, ResponseHead } from '../pipeline/index.js';

export class GatewayExchange implements Exchange {
  response?: ResponseHead;
  private notesMap?: Map<symbol, unknown>;
  private labels?: Record<string, string>;
  private controller?: AbortController;

  constructor(
    readonly id: string,
    readonly route: string,
    readonly client: ClientInfo,
    readonly request: RequestHead,
  ) {}

  get notes(): Map<symbol, unknown> {
    return (this.notesMap ??= new Map());
  }

  get annotations(): Record<string, string> {
    return (this.labels ??= {});
  }

  get hasAnnotations(): boolean {
    return this.labels !== undefined;
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(reason: string): void {
    this.controller?.abort(new Error(reason));
  }
}
