/**
 * Runs a route's stages. Built once per route at load: each hook gets an array of only the stages that
 * implement it, so a request pays for the hooks that exist and nothing else. Synchronous verdicts stay
 * synchronous; the runner awaits only when a stage returns a promise.
 */
import { CONTINUE, type Exchange, type Outcome, type Stage, type Step, type Verdict } from './stage.js';

type HeadHook = (x: Exchange) => Step;
type BodyHook = (x: Exchange, chunk: Uint8Array, last: boolean) => Step;

export interface StageFailure {
  stage: string;
  error: unknown;
  requestId?: string;
}

/** A stage that throws has failed closed: the request ends with 500, never passes unchecked. */
function failed(stage: string, error: unknown, onFailure: (f: StageFailure) => void, x: Exchange): Verdict {
  onFailure({ stage, error, requestId: x.id });
  return { kind: 'end', status: 500, reason: `${stage}:failed` };
}

export class Pipeline {
  readonly stages: readonly Stage[];
  readonly holdsRequestBody: boolean;
  readonly hasRequestBodyHooks: boolean;
  readonly hasResponseHooks: boolean;
  readonly hasResponseHeaderHooks: boolean;
  readonly hasResponseBodyHooks: boolean;
  private readonly requestHeaders: Array<[string, HeadHook]>;
  private readonly requestBody: Array<[string, BodyHook]>;
  private readonly responseHeaders: Array<[string, HeadHook]>;
  private readonly responseBody: Array<[string, BodyHook]>;
  private readonly log: Array<[string, (x: Exchange, o: Outcome) => void]>;
  private readonly holders: readonly Stage[];
  private readonly onFailure: (f: StageFailure) => void;

  constructor(stages: readonly Stage[], onFailure: (f: StageFailure) => void = () => {}) {
    this.stages = stages;
    this.onFailure = onFailure;
    const bind = <H>(s: Stage, h: H | undefined): Array<[string, H]> =>
      h ? [[s.name, (h as unknown as (...a: unknown[]) => unknown).bind(s) as H]] : [];
    this.requestHeaders = stages.flatMap((s) => bind(s, s.onRequestHeaders));
    this.requestBody = stages.flatMap((s) => bind(s, s.onRequestBody));
    const reversed = [...stages].reverse();
    this.responseHeaders = reversed.flatMap((s) => bind(s, s.onResponseHeaders));
    this.responseBody = reversed.flatMap((s) => bind(s, s.onResponseBody));
    this.log = reversed.flatMap((s) => bind(s, s.onLog));
    this.holdsRequestBody = stages.some((s) => s.holdsRequestBody === true);
    this.holders = stages.filter((s) => typeof s.responseHoldBytes === 'function');
    this.hasRequestBodyHooks = this.requestBody.length > 0;
    this.hasResponseHeaderHooks = this.responseHeaders.length > 0;
    this.hasResponseBodyHooks = this.responseBody.length > 0;
    this.hasResponseHooks = this.hasResponseHeaderHooks || this.hasResponseBodyHooks;
  }

  /** The most any stage wants held of this response's body (0: stream it). */
  responseHoldBytes(x: Exchange): number {
    let most = 0;
    for (const s of this.holders) {
      try {
        most = Math.max(most, s.responseHoldBytes!(x));
      } catch {
        // A stage that cannot say holds nothing back; its body hook still runs and can cut the stream.
      }
    }
    return most;
  }

  onRequestHeaders(x: Exchange): Step {
    return this.runHead(this.requestHeaders, x, 0);
  }

  onResponseHeaders(x: Exchange): Step {
    return this.runHead(this.responseHeaders, x, 0);
  }

  onRequestBody(x: Exchange, chunk: Uint8Array, last: boolean): Step {
    return this.runBody(this.requestBody, x, chunk, last, 0);
  }

  onResponseBody(x: Exchange, chunk: Uint8Array, last: boolean): Step {
    return this.runBody(this.responseBody, x, chunk, last, 0);
  }

  onLog(x: Exchange, outcome: Outcome): void {
    for (const [name, hook] of this.log) {
      try {
        hook(x, outcome);
      } catch (error) {
        this.onFailure({ stage: name, error, requestId: x.id });
      }
    }
  }

  /** Called when the runtime that owns this pipeline is retired. */
  close(): void {
    for (const s of this.stages) {
      try {
        s.close?.();
      } catch (error) {
        this.onFailure({ stage: s.name, error });
      }
    }
  }

  private runHead(hooks: Array<[string, HeadHook]>, x: Exchange, from: number): Step {
    for (let i = from; i < hooks.length; i++) {
      const [name, hook] = hooks[i]!;
      let step: Step;
      try {
        step = hook(x);
      } catch (error) {
        return failed(name, error, this.onFailure, x);
      }
      if (step instanceof Promise) {
        return step.then(
          (v) => (v.kind === 'continue' ? this.runHead(hooks, x, i + 1) : v),
          (error: unknown) => failed(name, error, this.onFailure, x),
        );
      }
      if (step.kind !== 'continue') return step;
    }
    return CONTINUE;
  }

  private runBody(hooks: Array<[string, BodyHook]>, x: Exchange, chunk: Uint8Array, last: boolean, from: number): Step {
    for (let i = from; i < hooks.length; i++) {
      const [name, hook] = hooks[i]!;
      let step: Step;
      try {
        step = hook(x, chunk, last);
      } catch (error) {
        return failed(name, error, this.onFailure, x);
      }
      if (step instanceof Promise) {
        return step.then(
          (v) => (v.kind === 'continue' ? this.runBody(hooks, x, chunk, last, i + 1) : v),
          (error: unknown) => failed(name, error, this.onFailure, x),
        );
      }
      if (step.kind !== 'continue') return step;
    }
    return CONTINUE;
  }
}
