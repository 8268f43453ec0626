import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from "@opentelemetry/api";
import { boundText, MAX_MESSAGE_BYTES } from "../errors/bounds.js";
import { Status } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import { whenFinished } from "../interceptors/outcome.js";
import type { MethodInfo } from "../rpc/method.js";
import { metadataGetter, metadataSetter } from "./carriers.js";
import { kitTracer } from "./tracing.js";

/** The span attribute that carries a call's request id (x-request-id), so a trace is found from a log line's id. */
export const REQUEST_ID_ATTRIBUTE = "lattice.request_id";

/**
 * Codes that mark a server span as failed: the server's own trouble. A client's mistake (INVALID_ARGUMENT,
 * NOT_FOUND, …) is a correct answer on the server side, but a failed call on the client side (OpenTelemetry's RPC
 * conventions, gRPC).
 */
const SERVER_ERRORS: ReadonlySet<Status> = new Set([
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.UNIMPLEMENTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
  Status.DATA_LOSS,
]);

/** rpc.* attributes of one method, made once when the chain is built. */
function methodAttributes(method: MethodInfo): Attributes {
  return { "rpc.system": "grpc", "rpc.service": method.service, "rpc.method": method.name };
}

/** The span name the RPC conventions give a call: `package.Service/Method`. */
function spanName(method: MethodInfo): string {
  return `${method.service}/${method.name}`;
}

/**
 * A SERVER span per call, continuing the caller's trace from its `traceparent`/`tracestate` metadata (W3C trace
 * context), and active while the handler runs — through its awaits and, for response streams, each message it
 * produces — so log lines, database statements, events written and the calls it makes belong to it. The span has
 * the rpc.* attributes, the request id (lattice.request_id) and the status code (rpc.grpc.status_code); it is marked
 * failed for the codes that mean the server failed. Installed by LatticeServer, outermost, when tracing is on.
 */
export function serverTracingInterceptor(): Interceptor {
  return (next, method) => {
    const name = spanName(method);
    const attributes = methodAttributes(method);
    return (input, ctx) => {
      const parent = propagation.extract(ROOT_CONTEXT, ctx.requestHeader, metadataGetter);
      const span = kitTracer().startSpan(
        name,
        { kind: SpanKind.SERVER, attributes: { ...attributes, ...peerAttributes(ctx.peer) } },
        parent,
      );
      if (span.isRecording()) span.setAttribute(REQUEST_ID_ATTRIBUTE, ctx.requestId);
      const active = trace.setSpan(parent, span);
      const result = context.with(active, () =>
        whenFinished(method, ctx, next(input, ctx), (error) => endSpan(span, error, SERVER_ERRORS)),
      );
      return method.responseStream ? result.then((responses) => bindStream(responses, active)) : result;
    };
  };
}

/**
 * A CLIENT span per call made, child of whatever span is active (the server call being handled, an event being
 * processed), with its context sent in the call's metadata so the server continues the trace. `target` is the
 * address dialed, for server.address and server.port. Any status but OK marks it failed. createClient installs it
 * when tracing is on, after request-id forwarding so the span carries the id.
 */
export function clientTracingInterceptor(target: string): Interceptor {
  const server = targetAttributes(target);
  return (next, method) => {
    const name = spanName(method);
    const attributes = { ...methodAttributes(method), ...server };
    return (input, ctx) => {
      const parent = context.active();
      const span = kitTracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
      if (span.isRecording() && ctx.requestId !== "") span.setAttribute(REQUEST_ID_ATTRIBUTE, ctx.requestId);
      const active = trace.setSpan(parent, span);
      propagation.inject(active, ctx.requestHeader, metadataSetter);
      return context.with(active, () => whenFinished(method, ctx, next(input, ctx), (error) => endSpan(span, error)));
    };
  };
}

/** Ends a call's span with its status; `errors` limits the codes that mark it failed (every non-OK by default). */
function endSpan(span: Span, error: unknown, errors?: ReadonlySet<Status>): void {
  const code = error === undefined ? Status.OK : statusOf(error);
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== Status.OK && (errors === undefined || errors.has(code))) {
    // The code's canonical name (DEADLINE_EXCEEDED), as the RPC conventions write gRPC codes.
    const name = (Status[code] as string | undefined) ?? String(code);
    span.setAttribute("error.type", name);
    const message = error instanceof Error ? boundText(error.message, MAX_MESSAGE_BYTES) : name;
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

/**
 * The response stream, each message pulled with the call's span active: the handler's generator runs on each pull,
 * outside the interceptor's own scope.
 */
function bindStream(responses: unknown, active: Context): AsyncIterable<unknown> {
  const source = responses as AsyncIterable<unknown>;
  return {
    [Symbol.asyncIterator]() {
      const iterator = context.with(active, () => source[Symbol.asyncIterator]());
      return {
        next: (value?: unknown) => context.with(active, () => iterator.next(value)),
        return: (value?: unknown) =>
          context.with(active, () => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value })),
        throw: (error?: unknown) =>
          context.with(active, () =>
            iterator.throw
              ? iterator.throw(error)
              : Promise.reject(error instanceof Error ? error : new Error("thrown")),
          ),
      };
    },
  };
}

/** network.peer.* of a caller's address as grpc-js gives it ("127.0.0.1:53412", "[::1]:53412", "unix:…"). */
export function peerAttributes(peer: string): Attributes {
  const parsed = splitHostPort(peer);
  if (!parsed) return {};
  return {
    "network.peer.address": parsed.host,
    ...(parsed.port === undefined ? {} : { "network.peer.port": parsed.port }),
  };
}

/** server.* of a client's target ("host:port", "dns:///name:port", "xds:///name", "unix:/path"). */
export function targetAttributes(target: string): Attributes {
  if (target.startsWith("unix:")) return { "server.address": target.slice("unix:".length).replace(/^\/\//, "") };
  const withoutScheme = target.replace(/^[a-z][a-z0-9+.-]*:(\/\/[^/]*\/)?/i, "");
  const parsed = splitHostPort(withoutScheme);
  if (!parsed) return {};
  return { "server.address": parsed.host, ...(parsed.port === undefined ? {} : { "server.port": parsed.port }) };
}

function splitHostPort(address: string): { host: string; port: number | undefined } | undefined {
  if (address === "" || address.startsWith("unix:")) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  const colon = address.lastIndexOf(":");
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon < 0 || address.indexOf(":") !== colon) return { host: address, port: undefined };
  const port = Number(address.slice(colon + 1));
  return { host: address.slice(0, colon), port: Number.isInteger(port) ? port : undefined };
}
