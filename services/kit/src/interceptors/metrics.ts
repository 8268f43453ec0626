import { Status } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { MethodStats } from "../metrics/rpc-stats.js";
import type { CallContext } from "../rpc/call-context.js";
import type { MethodInfo } from "../rpc/method.js";
import type { Interceptor } from "./interceptor.js";
import { whenFinished } from "./outcome.js";

/** Set by gRPC clients (gRFC A6) on every attempt after a call's first, and on the response of such an attempt. */
export const PREVIOUS_ATTEMPTS_HEADER = "grpc-previous-rpc-attempts";

/** Where a side's per-method stats come from (ServerMetrics, ClientMetrics). */
export interface MethodStatsSource {
  forMethod(method: MethodInfo): MethodStats;
}

/**
 * Counts every call a server handles and times it until it ends (grpc_server_started_total, _handled_total,
 * _handling_seconds), and the messages it receives and sends (_msg_received_total, _msg_sent_total), as
 * go-grpc-prometheus's server interceptors do; a call that arrives carrying grpc-previous-rpc-attempts is a retry or
 * hedge (grpc_server_retries_total). The method's counters are found once, when the chain is built; a call adds to
 * plain numbers.
 */
export function metricsInterceptor(metrics: MethodStatsSource): Interceptor {
  return (next, method) => {
    const stats = metrics.forMethod(method);
    if (method.responseStream || method.requestStream)
      return (input, ctx) => {
        stats.started++;
        if (ctx.requestHeader.get(PREVIOUS_ATTEMPTS_HEADER).length > 0) stats.retries++;
        const start = performance.now();
        return count(method, stats, ctx, next(received(method, stats, input), ctx), (error) =>
          stats.finished(error === undefined ? Status.OK : statusOf(error), (performance.now() - start) / 1000),
        );
      };
    // Unary calls, the common case, with no more work per call than counting needs.
    return (input, ctx) => {
      stats.started++;
      stats.msgReceived++;
      if (ctx.requestHeader.get(PREVIOUS_ATTEMPTS_HEADER).length > 0) stats.retries++;
      const start = performance.now();
      return next(input, ctx).then(
        (response) => {
          stats.msgSent++;
          stats.finished(Status.OK, (performance.now() - start) / 1000);
          return response;
        },
        (error: unknown) => {
          stats.finished(statusOf(error), (performance.now() - start) / 1000);
          throw error;
        },
      );
    };
  };
}

/**
 * The same for the calls a client makes (grpc_client_*): started, handled by code, handling time until the call
 * ends, messages sent and received. Retries happen inside grpc-js's channel, below every interceptor; grpc-js puts
 * the number of earlier attempts in the response metadata of the attempt it kept (grpc-previous-rpc-attempts, gRFC
 * A6), and that is what grpc_client_retries_total adds up.
 */
export function clientMetricsInterceptor(metrics: MethodStatsSource): Interceptor {
  return (next, method) => {
    const stats = metrics.forMethod(method);
    return (input, ctx) => {
      stats.started++;
      const start = performance.now();
      return count(method, stats, ctx, next(sent(method, stats, input), ctx), (error) => {
        stats.retries += previousAttempts(ctx);
        stats.finished(error === undefined ? Status.OK : statusOf(error), (performance.now() - start) / 1000);
      });
    };
  };
}

/** Counts the responses as they pass and calls `onEnd` when the call ends. */
function count(
  method: MethodInfo,
  stats: MethodStats,
  ctx: CallContext,
  result: Promise<unknown>,
  onEnd: (error: unknown) => void,
): Promise<unknown> {
  const side = ctx.side;
  const out = (n: number) => (side === "server" ? (stats.msgSent += n) : (stats.msgReceived += n));
  if (!method.responseStream)
    return whenFinished(method, ctx, result, (error) => {
      if (error === undefined) out(1);
      onEnd(error);
    });
  return whenFinished(
    method,
    ctx,
    result.then((responses) => tally(responses as AsyncIterable<unknown>, () => out(1))),
    onEnd,
  );
}

/** A server's requests: one for a unary request, each one of a request stream as the handler reads it. */
function received(method: MethodInfo, stats: MethodStats, input: unknown): unknown {
  if (!method.requestStream) {
    stats.msgReceived++;
    return input;
  }
  return tally(input as AsyncIterable<unknown>, () => stats.msgReceived++);
}

/** A client's requests, counted as they are sent. */
function sent(method: MethodInfo, stats: MethodStats, input: unknown): unknown {
  if (!method.requestStream) {
    stats.msgSent++;
    return input;
  }
  return tally(input as AsyncIterable<unknown> | Iterable<unknown>, () => stats.msgSent++);
}

async function* tally(source: AsyncIterable<unknown> | Iterable<unknown>, each: () => void): AsyncGenerator {
  for await (const item of source) {
    each();
    yield item;
  }
}

function previousAttempts(ctx: CallContext): number {
  const value =
    ctx.responseHeader.get(PREVIOUS_ATTEMPTS_HEADER)[0] ?? ctx.responseTrailer.get(PREVIOUS_ATTEMPTS_HEADER)[0];
  const attempts = typeof value === "string" ? Number.parseInt(value, 10) : 0;
  return Number.isFinite(attempts) && attempts > 0 ? attempts : 0;
}
