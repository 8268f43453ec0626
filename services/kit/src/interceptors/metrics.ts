import { Status } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { Interceptor } from "./interceptor.js";
import { whenFinished } from "./outcome.js";

/**
 * Counts every call and times it until it ends (grpc_server_started_total, grpc_server_handled_total,
 * grpc_server_handling_seconds). The method's counters are found once, when the chain is built; a call adds to
 * plain numbers.
 */
export function metricsInterceptor(metrics: ServerMetrics): Interceptor {
  return (next, method) => {
    const stats = metrics.forMethod(method);
    return (input, ctx) => {
      stats.started++;
      const start = performance.now();
      return whenFinished(method, ctx, next(input, ctx), (error) =>
        stats.finished(error === undefined ? Status.OK : statusOf(error), (performance.now() - start) / 1000),
      );
    };
  };
}
