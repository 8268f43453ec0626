import type { CallContext } from "../rpc/call-context.js";
import type { MethodInfo } from "../rpc/method.js";

/**
 * Runs the rest of a call. `input` is the request message, or an AsyncIterable of them when the method streams
 * requests. It resolves with the response message, or with an AsyncIterable of them when the method streams
 * responses (the call then ends when that iterable ends, fails or is left). It rejects with the error the call
 * ends with.
 */
export type Next = (input: unknown, ctx: CallContext) => Promise<unknown>;

/**
 * Wraps the rest of a call, on a server or on a client: the same type serves both sides (connect-es and kratos do
 * the same). It is called once per method, when the chain is built — per-method work such as label lookups and
 * option checks happens there — and the function it returns runs for every call:
 *
 *   const timing: Interceptor = (next, method) => async (input, ctx) => {
 *     const start = performance.now();
 *     try {
 *       return await next(input, ctx);
 *     } finally {
 *       ctx.log.info({ method: method.path, ms: performance.now() - start }, "done");
 *     }
 *   };
 *
 * That measures unary calls. For calls that stream responses `next` resolves as soon as the stream is ready, so
 * interceptors that care how a call ends use `whenFinished` (and `mapFailure` to change its error), which handle
 * both shapes. Apply an interceptor to some methods only with `selectMethods`.
 */
export type Interceptor = (next: Next, method: MethodInfo) => Next;

/**
 * Builds the chain for one method: the first interceptor is the outermost. An interceptor that throws instead of
 * returning a rejected promise (one written without `async`) fails its call the same way, so the interceptors
 * around it and the status sent or received see the error; one that hands the call on unchanged (`next` itself, as
 * selectMethods does for the methods it skips) adds nothing to the chain.
 */
export function compose(interceptors: readonly Interceptor[], method: MethodInfo, terminal: Next): Next {
  let next = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const layer = interceptors[i]!(next, method);
    next = layer === next ? next : rejectingThrows(layer);
  }
  return next;
}

function rejectingThrows(layer: Next): Next {
  return (input, ctx) => {
    try {
      return layer(input, ctx);
    } catch (error) {
      // Rejected with what was thrown, whatever it is: recovery decides what the caller sees.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error);
    }
  };
}
