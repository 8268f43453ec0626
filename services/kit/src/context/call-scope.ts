import { AsyncLocalStorage } from "node:async_hooks";
import type { CallContext } from "../rpc/call-context.js";

// One store for the whole process: the server call whose handler is running, for the clients it calls.
const scope = new AsyncLocalStorage<CallContext>();

/** Runs `fn` (and everything it starts asynchronously) as part of handling the server call `ctx`. */
export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return scope.run(ctx, fn);
}

/**
 * The server call being handled where this is called from — through any number of awaits, timers and callbacks
 * started by its handler — or undefined outside one. Lattice clients read it to inherit the call's deadline,
 * cancellation and request id.
 */
export function currentCall(): CallContext | undefined {
  return scope.getStore();
}
