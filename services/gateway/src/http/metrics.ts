import { Histogram, type Registry } from "prom-client";

/** The methods a label may name; any other is "_OTHER", so a client cannot grow the series without bound. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/** OpenTelemetry's advised boundaries for http.server.request.duration, seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * The gateway's own view of the requests it answers — REST, gRPC-Web, /openapi.json, and the 4xx it gives itself
 * (unknown route, wrong method, bad JSON), which no backend's metrics see. One histogram after the OpenTelemetry HTTP
 * semantic conventions' `http.server.request.duration`, in Prometheus naming:
 *
 *   http_server_request_duration_seconds{http_request_method, http_route, http_response_status_code}
 *
 * `http_route` is the matched template ("/v1/{name=orders/*}"), the gRPC-Web method path, or "" when nothing matched:
 * never the raw path, whose ids would make a series per request. Streams are measured to their end.
 */
export class HttpServerMetrics {
  private readonly duration: Histogram<"http_request_method" | "http_route" | "http_response_status_code">;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: "http_server_request_duration_seconds",
      help: "Duration of HTTP requests the gateway answered, to the end of the response (streams included).",
      labelNames: ["http_request_method", "http_route", "http_response_status_code"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  /** Records one answered request: its method, route ("" for none), status code and duration in seconds. */
  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const upper = method.toUpperCase();
    this.duration.observe(
      {
        http_request_method: KNOWN_METHODS.has(upper) ? upper : "_OTHER",
        http_route: route ?? "",
        http_response_status_code: String(statusCode),
      },
      seconds,
    );
  }
}
