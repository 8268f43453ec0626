import { setTimeout as sleep } from "node:timers/promises";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { Next } from "../interceptors/interceptor.js";

/**
 * Errors of calls whose response headers had arrived before they failed. gRFC A6 commits a call once its response
 * headers arrive, so grpc-js retries it no more: a server that dies between sending its headers and its answer
 * (SIGKILL, a node lost) fails the call with UNAVAILABLE even where its retry policy would have retried it.
 */
const afterHeaders = new WeakSet<object>();

/** Marks `error` as the failure of a call whose response headers had arrived (see afterHeaders). */
export function markedAfterHeaders(error: GrpcError): GrpcError {
  afterHeaders.add(error);
  return error;
}

/**
 * One more attempt, after `backoffMs` (jittered ±50%), for a unary call that failed UNAVAILABLE after its response
 * headers — the one failure grpc-js's own retries cannot take — when the method is safe to send again (idempotent, no
 * side effects, or carrying an idempotency key the server de-duplicates) and the call's deadline leaves time for it.
 * Any other failure, and the second attempt's, reaches the caller as it is.
 */
export function replayAfterHeaders(attempt: Next, backoffMs: number): Next {
  return async (request, ctx) => {
    try {
      return await attempt(request, ctx);
    } catch (error) {
      if (!(error instanceof GrpcError) || error.code !== Status.UNAVAILABLE || !afterHeaders.has(error)) throw error;
      const waitMs = Math.round(backoffMs * (0.5 + Math.random()));
      const leftMs = ctx.deadline ? ctx.deadline.getTime() - Date.now() : Infinity;
      if (ctx.cancelled || leftMs <= waitMs) throw error;
      try {
        await sleep(waitMs, undefined, { signal: ctx.signal });
      } catch {
        throw error; // the caller cancelled meanwhile: the failure stands
      }
      return attempt(request, ctx);
    }
  };
}
