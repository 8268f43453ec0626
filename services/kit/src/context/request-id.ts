import { createContextKey } from "./context-values.js";

/** The header a request id travels in, between services and from the edge (a gateway, a load balancer). */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * The request id of the call being handled: taken from the caller's `x-request-id`, or made at the edge when the
 * caller sent none. Log lines of the call carry it as `request_id`, and Lattice clients forward it on every call
 * they make while handling this one. Undefined outside a call, or when the request-id interceptor is not installed.
 */
export const REQUEST_ID = createContextKey<string | undefined>("request id", undefined);
