import { currentCall } from "../context/call-scope.js";
import { REQUEST_ID_HEADER } from "../context/request-id.js";
import type { Interceptor } from "./interceptor.js";

/**
 * Puts the request id of the server call being handled (see currentCall and CallContext.requestId) in
 * `x-request-id` of every call made while handling it, unless the call sets one itself. Lattice clients install it
 * first, so a request keeps one id across every service it reaches.
 */
export function forwardRequestIdInterceptor(): Interceptor {
  return (next) => (input, ctx) => {
    const parent = currentCall();
    if (parent && ctx.requestHeader.get(REQUEST_ID_HEADER).length === 0)
      ctx.requestHeader.set(REQUEST_ID_HEADER, parent.requestId);
    return next(input, ctx);
  };
}
