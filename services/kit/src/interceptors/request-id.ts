import { randomUUID } from "node:crypto";
import { currentCall } from "../context/call-scope.js";
import { REQUEST_ID, REQUEST_ID_HEADER } from "../context/request-id.js";
import type { Interceptor } from "./interceptor.js";

/** Longest request id taken from a caller; longer ones (or ones with other than printable ASCII) are replaced. */
const MAX_LENGTH = 128;
const PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * Gives every call a request id (REQUEST_ID): the caller's `x-request-id` when it sent a usable one, a new UUID
 * otherwise — so the first Lattice service a request reaches is its edge. The id is on every log line of the call
 * (`request_id`), echoed in the response headers, and forwarded by Lattice clients on every call the handler makes.
 */
export function requestIdInterceptor(): Interceptor {
  return (next) => (input, ctx) => {
    const sent = ctx.requestHeader.get(REQUEST_ID_HEADER)[0];
    const id = typeof sent === "string" && sent.length <= MAX_LENGTH && PRINTABLE.test(sent) ? sent : randomUUID();
    ctx.values.set(REQUEST_ID, id);
    ctx.responseHeader.set(REQUEST_ID_HEADER, id);
    return next(input, ctx);
  };
}

/**
 * Client side: puts the request id of the server call being handled (see currentCall) in `x-request-id` of every
 * call made while handling it, unless the call sets one itself. Lattice clients install it first.
 */
export function forwardRequestIdInterceptor(): Interceptor {
  return (next) => (input, ctx) => {
    const id = currentCall()?.values.get(REQUEST_ID);
    if (id !== undefined && ctx.requestHeader.get(REQUEST_ID_HEADER).length === 0)
      ctx.requestHeader.set(REQUEST_ID_HEADER, id);
    return next(input, ctx);
  };
}
