import type { CallContext } from "../rpc/call-context.js";
import type { MethodInfo } from "../rpc/method.js";

/**
 * Runs the rest of the call. It resolves when the call is complete: with the response of a unary or
 * client-streaming call, once the last message is sent for calls that stream responses. It rejects with the
 * error the call ends with.
 */
export type Next = (ctx: CallContext) => Promise<unknown>;

/**
 * An interceptor wraps the rest of the chain: `(next, method) => async (ctx) => { before; await next(ctx); after }`.
 * It is called once per method when the service is registered, not per call, so per-method work (label lookups,
 * option checks) happens once; the function it returns runs for every call.
 */
export type Interceptor = (next: Next, method: MethodInfo) => Next;

/** Builds the chain for one method: the first interceptor is the outermost. */
export function compose(interceptors: readonly Interceptor[], method: MethodInfo, terminal: Next): Next {
  let next = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next, method);
  return next;
}
