import { isExpectedError, toGrpcError } from "../errors/to-grpc-error.js";
import { cancellationError } from "../rpc/call-context.js";
import type { Interceptor } from "./interceptor.js";
import { mapFailure } from "./outcome.js";

/**
 * Turns whatever a handler throws into the status the client sees. Errors the service meant (GrpcError, domain
 * errors) keep their code; anything else is a bug: logged once here with its stack, and sent as INTERNAL with a
 * message that reveals nothing about the server. Once the caller has gone, every failure is its cancellation.
 */
export function recoveryInterceptor(): Interceptor {
  return (next, method) => (input, ctx) =>
    mapFailure(method, next(input, ctx), (error) => {
      if (ctx.cancelled) return cancellationError(ctx);
      if (!isExpectedError(error)) ctx.log.error({ err: error }, "handler failed");
      return toGrpcError(error);
    });
}
