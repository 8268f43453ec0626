import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import { recordGetter, type HeaderRecord } from "./carriers.js";
import { peerAttributes, REQUEST_ID_ATTRIBUTE } from "./rpc-spans.js";
import { kitTracer, tracingEnabled } from "./tracing.js";

/** The parts of an incoming HTTP request a span is made from (node:http's IncomingMessage has them). */
export interface HttpRequestLike {
  readonly method?: string | undefined;
  /** The request target, e.g. "/v1/orders/123?view=full". */
  readonly url?: string | undefined;
  readonly headers: HeaderRecord;
  readonly socket?: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined };
}

/** One HTTP request's SERVER span: run the handling inside it, end it with the response's status. */
export interface HttpServerSpan {
  /** Runs `handle` with the span active: Lattice clients called from it continue the trace. */
  run<T>(handle: () => T): T;
  /** Ends the span with the status sent (5xx marks it failed) and the error, if the handling failed. */
  end(statusCode: number, error?: unknown): void;
}

const UNTRACED: HttpServerSpan = { run: (handle) => handle(), end: () => undefined };

/**
 * A SERVER span for an HTTP request at the edge (the REST gateway), continuing the caller's W3C trace context from
 * its `traceparent`/`tracestate` headers, named `{method} {route}` with the http.* attributes of the HTTP
 * conventions. `route` is the matched template ("/v1/orders/{name}"), never the raw path (its ids would make every
 * request a name of its own). With tracing off it does nothing and costs nothing.
 *
 *   const span = httpServerSpan(req, "/v1/orders/{name}", requestId);
 *   res.on("close", () => span.end(res.statusCode));
 *   await span.run(() => forward(req, res));
 */
export function httpServerSpan(
  request: HttpRequestLike,
  route: string | undefined,
  requestId?: string,
): HttpServerSpan {
  if (!tracingEnabled()) return UNTRACED;
  const method = (request.method ?? "GET").toUpperCase();
  const parent = propagation.extract(ROOT_CONTEXT, request.headers, recordGetter);
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const attributes: Attributes = {
    "http.request.method": method,
    "url.path": path,
    "url.scheme": "http",
    ...(route ? { "http.route": route } : {}),
    ...userAgent(request.headers),
    ...(request.socket?.remoteAddress
      ? peerAttributes(
          `${request.socket.remoteAddress.includes(":") ? `[${request.socket.remoteAddress}]` : request.socket.remoteAddress}:${request.socket.remotePort ?? ""}`,
        )
      : {}),
    ...(requestId ? { [REQUEST_ID_ATTRIBUTE]: requestId } : {}),
  };
  const span = kitTracer().startSpan(
    route ? `${method} ${route}` : method,
    { kind: SpanKind.SERVER, attributes },
    parent,
  );
  const active = trace.setSpan(parent, span);
  let ended = false;
  return {
    run: (handle) => context.with(active, handle),
    end: (statusCode, error) => {
      if (ended) return;
      ended = true;
      endHttpSpan(span, statusCode, error);
    },
  };
}

function userAgent(headers: HeaderRecord): Attributes {
  const value = headers["user-agent"];
  return typeof value === "string" ? { "user_agent.original": value } : {};
}

function endHttpSpan(span: Span, statusCode: number, error: unknown): void {
  span.setAttribute("http.response.status_code", statusCode);
  // On the server side only 5xx is a failure: a 4xx is a correct answer to a bad request.
  if (statusCode >= 500 || error !== undefined) {
    span.setAttribute("error.type", error instanceof Error ? error.name : String(statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR, ...(error instanceof Error ? { message: error.message } : {}) });
  }
  span.end();
}
