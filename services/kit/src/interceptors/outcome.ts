import { cancellationError, type CallContext } from "../rpc/call-context.js";
import type { MethodInfo } from "../rpc/method.js";

/**
 * Calls `onEnd` exactly once, when the call `result` belongs to has ended: with undefined when it succeeded, or
 * with the error it ended with. For a method that streams responses that is when the stream ends, fails, or is
 * left before its end (then the error is the call's cancellation). Resolves with what `result` resolves with
 * (a wrapped stream for streaming methods).
 */
export function whenFinished(
  method: MethodInfo,
  ctx: CallContext,
  result: Promise<unknown>,
  onEnd: (error: unknown) => void,
): Promise<unknown> {
  if (!method.responseStream) {
    return result.then(
      (response) => {
        onEnd(undefined);
        return response;
      },
      (error: unknown) => {
        onEnd(error);
        throw error;
      },
    );
  }
  return result.then(
    (responses) => observeStream(responses as AsyncIterable<unknown>, ctx, onEnd),
    (error: unknown) => {
      onEnd(error);
      throw error;
    },
  );
}

/**
 * Replaces the error a call ends with by `map(error)`, for unary results and for response streams alike (an
 * error in the middle of a stream is mapped when it surfaces).
 */
export function mapFailure(
  method: MethodInfo,
  result: Promise<unknown>,
  map: (error: unknown) => unknown,
): Promise<unknown> {
  const rethrow = (error: unknown): never => {
    throw map(error);
  };
  if (!method.responseStream) return result.catch(rethrow);
  return result.then((responses) => mapStreamFailure(responses as AsyncIterable<unknown>, rethrow), rethrow);
}

async function* observeStream(
  responses: AsyncIterable<unknown>,
  ctx: CallContext,
  onEnd: (error: unknown) => void,
): AsyncGenerator {
  let outcome: { error: unknown } | undefined;
  try {
    yield* responses;
    outcome = { error: undefined };
  } catch (error) {
    outcome = { error };
    throw error;
  } finally {
    // Left before the end: whoever reads the stream stopped, which ends the call early.
    onEnd(outcome ? outcome.error : cancellationError(ctx));
  }
}

async function* mapStreamFailure(
  responses: AsyncIterable<unknown>,
  rethrow: (error: unknown) => never,
): AsyncGenerator {
  try {
    yield* responses;
  } catch (error) {
    rethrow(error);
  }
}
