import { Status } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { Interceptor } from "./interceptor.js";

/**
 * Counts every call and times it (grpc_server_started_total, grpc_server_handled_total, grpc_server_handling_seconds).
 * The method's counters are found once, when the chain is built; a call adds to plain numbers.
 */
export function metricsInterceptor(metrics: ServerMetrics): Interceptor {
  return (next, method) => {
    const stats = metrics.forMethod(method);
    return async (ctx) => {
      stats.started++;
      const start = performance.now();
      try {
        const result = await next(ctx);
        stats.finished(Status.OK, (performance.now() - start) / 1000);
        return result;
      } catch (error) {
        stats.finished(statusOf(error), (performance.now() - start) / 1000);
        throw error;
      }
    };
  };
}
