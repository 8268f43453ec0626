import type { Counter } from "prom-client";
import { Status, codeName } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { Interceptor } from "./interceptor.js";

/**
 * Counts every call and times it (grpc_server_started_total, grpc_server_handled_total, grpc_server_handling_seconds).
 * Label children are looked up once per method, and per code on first use, so a call costs two increments and
 * one observation.
 */
export function metricsInterceptor(metrics: ServerMetrics): Interceptor {
  return (next, method) => {
    const labels = { grpc_type: method.kind, grpc_service: method.service, grpc_method: method.name };
    const started = metrics.started.labels(labels);
    const latency = metrics.handlingSeconds.labels(labels);
    const handledByCode = new Map<Status, Counter.Internal>();
    const handled = (code: Status) => {
      let counter = handledByCode.get(code);
      if (!counter) {
        counter = metrics.handled.labels({ ...labels, grpc_code: codeName(code) });
        handledByCode.set(code, counter);
      }
      return counter;
    };
    // Calls that never happened still show as 0 so rate() works from the first scrape.
    started.inc(0);
    handled(Status.OK).inc(0);

    return async (ctx) => {
      started.inc();
      const start = process.hrtime.bigint();
      try {
        const result = await next(ctx);
        handled(Status.OK).inc();
        return result;
      } catch (error) {
        handled(statusOf(error)).inc();
        throw error;
      } finally {
        latency.observe(Number(process.hrtime.bigint() - start) / 1e9);
      }
    };
  };
}
