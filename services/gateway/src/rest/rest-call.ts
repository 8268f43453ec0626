import type { OutgoingHttpHeaders } from "node:http";
import {
  fromBinary,
  toBinary,
  toJson,
  type JsonObject,
  type JsonReadOptions,
  type JsonValue,
  type JsonWriteOptions,
} from "@bufbuild/protobuf";
import type { CallOptions, Logger } from "@lattice/kit";
import type { Backends, ObservedCall } from "../grpc/backends.js";
import type { ErrorAnswer, ErrorMapper } from "../http/errors.js";
import type { Exchange } from "../http/exchange.js";
import {
  acceptsTrailers,
  grpcTimeoutMs,
  METADATA_HEADER_PREFIX,
  metadataHeaders,
  restMetadata,
  TRAILER_HEADER_PREFIX,
} from "../http/headers.js";
import type { Route } from "../routing/routes.js";
import { bindRequest } from "./binding.js";
import { framingFor, type StreamFraming } from "./streaming.js";

/** What serving REST calls needs, built once. */
export interface RestContext {
  readonly backends: Backends;
  readonly errors: ErrorMapper;
  readonly json: { readonly read: Partial<JsonReadOptions>; readonly write: Partial<JsonWriteOptions> };
  /** Largest request body accepted (bytes). */
  readonly maxBodyBytes: number;
  /** Interval of SSE keep-alive comments (ms); 0 for none. */
  readonly heartbeatMs: number;
  readonly logger: Logger;
}

const JSON_TYPE = "application/json";

/**
 * Serves one REST request on `route`: binds the request message, forwards it as gRPC to the service that owns the
 * method, and writes the answer — JSON for a unary method, NDJSON or Server-Sent Events for a server stream, a
 * google.rpc.Status with the mapped HTTP status on failure. Never throws: every failure becomes an answer.
 */
export async function serveRest(
  ctx: RestContext,
  exchange: Exchange,
  route: Route,
  variables: ReadonlyMap<string, string>,
): Promise<void> {
  let call: (() => ObservedCall | undefined) | undefined;
  try {
    const timeoutMs = grpcTimeoutMs(exchange.headers["grpc-timeout"]);
    const metadata = restMetadata(exchange.headers, {
      remoteAddress: exchange.remoteAddress,
      authority: exchange.authority,
    });
    const body = route.binding.body === "" ? Buffer.alloc(0) : await exchange.body(ctx.maxBodyBytes);
    const message = bindRequest(route, { variables, query: exchange.query, body }, ctx.json.read);
    const request = Buffer.from(toBinary(route.method.input, message));
    const abort = new AbortController();
    exchange.onClientGone(() => abort.abort());
    const options: CallOptions = { metadata, signal: abort.signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    if (route.method.methodKind === "server_streaming") {
      const forwarded = ctx.backends.serverStream(route.method, request, options);
      call = forwarded.call;
      await pumpStream(ctx, exchange, route, forwarded.result, forwarded.call, framingFor(exchange.headers));
      return;
    }
    const forwarded = ctx.backends.unary(route.method, request, options);
    call = forwarded.call;
    const response = await forwarded.result;
    const json = JSON.stringify(responseJson(ctx, route, response));
    const observed = forwarded.call();
    const trailers = acceptsTrailers(exchange.headers);
    const trailerHeaders = trailers ? metadataHeaders(observed?.responseTrailer, TRAILER_HEADER_PREFIX) : {};
    exchange.writeHead(200, {
      ...metadataHeaders(observed?.responseHeader, METADATA_HEADER_PREFIX),
      "content-type": JSON_TYPE,
      ...(trailers ? trailerAnnouncement(trailerHeaders) : { "content-length": Buffer.byteLength(json) }),
    });
    exchange.end(json, trailerHeaders);
  } catch (error) {
    sendError(ctx, exchange, ctx.errors.answer(error), call?.());
    logUnexpected(ctx, error, route);
  }
}

/** The response message as JSON: the whole message, or the `response_body` field's value. */
function responseJson(ctx: RestContext, route: Route, bytes: Uint8Array): JsonValue {
  const schema = route.method.output;
  const json = toJson(schema, fromBinary(schema, bytes), ctx.json.write) as JsonObject;
  const field = route.responseBodyField;
  return field ? (json[field.jsonName] ?? null) : json;
}

/** The Trailer header announcing trailers to come (HTTP/1.1 chunked); none when there are none. */
function trailerAnnouncement(trailers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const names = Object.keys(trailers);
  return names.length > 0 ? { trailer: names.join(", ") } : {};
}

/** Writes an error answer, with the backend's response headers and (when the client takes them) trailers. */
export function sendError(
  ctx: RestContext,
  exchange: Exchange,
  answer: ErrorAnswer,
  call: ObservedCall | undefined,
): void {
  if (exchange.headersSent) {
    exchange.end();
    return;
  }
  const body = JSON.stringify(answer.body);
  const trailers = acceptsTrailers(exchange.headers);
  const trailerHeaders = trailers
    ? metadataHeaders(answer.trailer ?? call?.responseTrailer, TRAILER_HEADER_PREFIX)
    : {};
  exchange.writeHead(answer.httpStatus, {
    ...metadataHeaders(call?.responseHeader, METADATA_HEADER_PREFIX),
    ...answer.headers,
    "content-type": JSON_TYPE,
    ...(trailers ? trailerAnnouncement(trailerHeaders) : { "content-length": Buffer.byteLength(body) }),
  });
  exchange.end(body, trailerHeaders);
}

function logUnexpected(ctx: RestContext, error: unknown, route: Route): void {
  const answer = ctx.errors.answer(error);
  if (answer.unexpected) ctx.logger.error({ err: error, route: route.label }, "REST call failed unexpectedly");
}

/**
 * Writes a server stream as it arrives. The next message is read only once the client's connection has taken the
 * previous one (Exchange.write waits for drain), so a slow reader slows the gRPC stream through HTTP/2 flow control
 * and memory stays bounded; a client that goes away ends the loop, which cancels the call. Headers are written with
 * the first message — or, when the call fails first, with the error's HTTP status, as grpc-gateway does.
 */
async function pumpStream(
  ctx: RestContext,
  exchange: Exchange,
  route: Route,
  responses: AsyncIterable<Buffer>,
  call: () => ObservedCall | undefined,
  framing: StreamFraming,
): Promise<void> {
  const trailers = acceptsTrailers(exchange.headers);
  let heartbeat: NodeJS.Timeout | undefined;
  const start = (status: number) => {
    exchange.writeHead(status, {
      ...metadataHeaders(call()?.responseHeader, METADATA_HEADER_PREFIX),
      "content-type": framing.contentType,
      "cache-control": "no-cache",
      ...(framing.name === "sse" ? { "x-accel-buffering": "no" } : {}),
    });
    if (framing.heartbeat && ctx.heartbeatMs > 0) {
      heartbeat = setInterval(() => void exchange.write(framing.heartbeat), ctx.heartbeatMs);
      heartbeat.unref();
    }
  };
  const trailerHeaders = (error?: { trailer: ErrorAnswer["trailer"] }) =>
    trailers ? metadataHeaders(error?.trailer ?? call()?.responseTrailer, TRAILER_HEADER_PREFIX) : {};
  try {
    for await (const bytes of responses) {
      if (!exchange.headersSent) start(200);
      if (!(await exchange.write(framing.message(responseJson(ctx, route, bytes))))) return;
    }
    if (!exchange.headersSent) start(200);
    exchange.end(framing.end(ctx.errors.okStatus()), trailerHeaders());
  } catch (error) {
    const answer = ctx.errors.answer(error);
    if (answer.unexpected) ctx.logger.error({ err: error, route: route.label }, "REST stream failed unexpectedly");
    if (!exchange.headersSent) start(answer.httpStatus);
    exchange.end(framing.failure(answer.body), trailerHeaders(answer));
  } finally {
    clearInterval(heartbeat);
  }
}
