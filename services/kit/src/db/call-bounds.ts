import { currentCall } from "../context/call-scope.js";

/** What limits database work done for a call: its deadline and its cancellation. */
export interface CallBounds {
  /** Epoch ms after which the caller no longer waits; undefined without a deadline (and outside a call). */
  readonly deadline: number | undefined;
  /** Aborts when the caller cancels or its deadline passes; undefined outside a call. */
  readonly signal: AbortSignal | undefined;
}

/** No call: background work (relay, consumer, migrations) is bounded by the pool's own timeouts only. */
export const UNBOUNDED: CallBounds = { deadline: undefined, signal: undefined };

/**
 * The bounds of the server call being handled where this runs (through AsyncLocalStorage, see currentCall), or
 * UNBOUNDED outside one.
 */
export function callBounds(): CallBounds {
  const call = currentCall();
  if (!call) return UNBOUNDED;
  return { deadline: call.deadline?.getTime(), signal: call.signal };
}

/** Milliseconds left before the bounds' deadline (may be ≤ 0), or Infinity without one. */
export function msLeft(bounds: CallBounds, now = Date.now()): number {
  return bounds.deadline === undefined ? Infinity : bounds.deadline - now;
}

/** True when the call is already gone: cancelled, or its deadline passed. */
export function callGone(bounds: CallBounds, now = Date.now()): boolean {
  return bounds.signal?.aborted === true || msLeft(bounds, now) <= 0;
}
