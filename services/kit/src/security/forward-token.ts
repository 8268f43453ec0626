import { currentCall } from "../context/call-scope.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import { AUTHORIZATION_HEADER, PRINCIPAL } from "./auth-interceptor.js";

/**
 * Passes the verified bearer token of the server call being handled (see PRINCIPAL) on in `authorization`, unless
 * the call sets that header itself. Only a token this service verified is passed on — never one it merely received
 * — and the next service verifies it again, so the end user's identity reaches every service a request touches
 * without any of them trusting a header. Clients made by connect() install it; clients of other systems do not,
 * so a user's token never leaves the release by accident.
 */
export function forwardTokenInterceptor(): Interceptor {
  return (next) => (input, ctx) => {
    const principal = currentCall()?.values.get(PRINCIPAL);
    if (principal && ctx.requestHeader.get(AUTHORIZATION_HEADER).length === 0)
      ctx.requestHeader.set(AUTHORIZATION_HEADER, `Bearer ${principal.token}`);
    return next(input, ctx);
  };
}
