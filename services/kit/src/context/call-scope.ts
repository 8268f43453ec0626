import { AsyncLocalStorage } from "node:async_hooks";
import type { CallContext } from "../rpc/call-context.js";

// One store for the whole process: the server call whose handler is running, for the clients it calls.
const scope = new AsyncLocalStorage<CallContext>();

// Entering the scope costs about 2-3% of a small unary call (measured with `npm run bench`), and only clients and
// the database pool read it: a process that has made neither has nothing to bound by a call, and does not pay for it.
let readersExist = false;

/**
 * Called by createClient and createPool: from now on handlers run in their call's scope, so clients inherit its
 * deadline and cancellation, and database statements are bounded by them.
 */
export function enableCallScope(): void {
  readersExist = true;
}

/** Runs `fn` (and everything it starts asynchronously) as part of handling the server call `ctx`. */
export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return readersExist ? scope.run(ctx, fn) : fn();
}

/**
 * The server call being handled where this is called from — through any number of awaits, timers and callbacks
 * started by its handler — or undefined outside one. Lattice clients read it to inherit the call's deadline,
 * cancellation and request id. (Calls are put in scope once the process has created a Lattice client or a database
 * pool: before that nothing would read it.)
 */
export function currentCall(): CallContext | undefined {
  return scope.getStore();
}

/**
 * Runs `fn` outside any call: what it starts (a reconnect loop, a timer) is not bounded by, and does not keep
 * alive, the call that happened to start it.
 */
export function outsideCall<T>(fn: () => T): T {
  return scope.exit(fn);
}
