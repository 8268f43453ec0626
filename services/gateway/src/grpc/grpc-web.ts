import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { DescMethod } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { GrpcError, Status, type CallOptions, type Logger } from "@lattice/kit";
import { GatewayError } from "../http/errors.js";
import type { Exchange } from "../http/exchange.js";
import { grpcTimeoutMs, HeaderError } from "../http/headers.js";
import type { Backends, ObservedCall } from "./backends.js";

/**
 * gRPC-Web (the protocol of grpc/grpc-web's PROTOCOL-WEB.md) translated to gRPC, as Envoy's grpc_web filter does:
 * `application/grpc-web[+proto]` carries length-prefixed frames as they are, `application/grpc-web-text[+proto]`
 * the same base64-encoded; the response's trailers travel in the body as a frame whose flag has the high bit set.
 * Unary and server-streaming methods: what browsers can call (they cannot stream a request body over fetch).
 */
export function isGrpcWeb(headers: IncomingHttpHeaders): boolean {
  return (headers["content-type"] ?? "").toLowerCase().startsWith("application/grpc-web");
}

export interface GrpcWebContext {
  readonly backends: Backends;
  /** Methods by HTTP path ("/lattice.greeter.v1.GreeterService/Greet"), those with a backend only. */
  readonly methods: ReadonlyMap<string, DescMethod>;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

// Request headers that belong to HTTP or to gRPC-Web itself, not to the call: everything else becomes metadata.
const NOT_METADATA = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "content-type",
  "content-length",
  "accept",
  "accept-encoding",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "x-grpc-web",
  "x-user-agent",
  "origin",
  "referer",
  "cookie",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-dest",
]);

/** Serves one gRPC-Web request. Never throws: failures are sent as grpc-status in the trailer frame. */
export async function serveGrpcWeb(ctx: GrpcWebContext, exchange: Exchange): Promise<void> {
  const text = (exchange.headers["content-type"] ?? "").toLowerCase().startsWith("application/grpc-web-text");
  const contentType = text ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
  const encode = (bytes: Uint8Array): string | Uint8Array => (text ? Buffer.from(bytes).toString("base64") : bytes);
  let call: (() => ObservedCall | undefined) | undefined;
  const start = () => {
    if (exchange.headersSent) return;
    exchange.writeHead(200, { ...metadataAsHeaders(call?.()?.responseHeader), "content-type": contentType });
  };
  try {
    if (exchange.method !== "POST")
      throw new GatewayError(Status.UNIMPLEMENTED, "gRPC-Web calls are POST requests", 405, { allow: "POST" });
    const subtype = /^application\/grpc-web(?:-text)?(?:\+(\w+))?/i.exec(exchange.headers["content-type"] ?? "")?.[1];
    if (subtype !== undefined && subtype.toLowerCase() !== "proto")
      throw new GrpcError(Status.UNIMPLEMENTED, `gRPC-Web with the ${subtype} codec is not supported: use proto`);
    const method = ctx.methods.get(exchange.path);
    if (!method) throw new GrpcError(Status.UNIMPLEMENTED, `unknown method ${exchange.path}`);
    if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming")
      throw new GrpcError(Status.UNIMPLEMENTED, `${method.methodKind} methods cannot be called over gRPC-Web here`);
    const raw = await exchange.body(text ? Math.ceil((ctx.maxBodyBytes * 4) / 3) + 8 : ctx.maxBodyBytes + 5);
    const request = singleMessage(text ? decodeText(raw) : raw);
    const abort = new AbortController();
    exchange.onClientGone(() => abort.abort());
    const timeoutMs = grpcTimeoutMs(exchange.headers["grpc-timeout"]);
    const options: CallOptions = {
      metadata: requestMetadata(exchange.headers),
      signal: abort.signal,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    if (method.methodKind === "server_streaming") {
      const forwarded = ctx.backends.serverStream(method, request, options);
      call = forwarded.call;
      for await (const message of forwarded.result) {
        start();
        if (!(await exchange.write(encode(frame(0, message))))) return;
      }
    } else {
      const forwarded = ctx.backends.unary(method, request, options);
      call = forwarded.call;
      const message = await forwarded.result;
      start();
      await exchange.write(encode(frame(0, message)));
    }
    start();
    exchange.end(encode(trailerFrame(Status.OK, "", call()?.responseTrailer)));
  } catch (error) {
    if (error instanceof GatewayError && error.httpStatus === 405) {
      exchange.writeHead(405, { ...error.headers, "content-type": "text/plain" });
      exchange.end(error.message);
      return;
    }
    const failure = asGrpcError(error);
    if (failure.code === Status.INTERNAL && !(error instanceof GrpcError))
      ctx.logger.error({ err: error, path: exchange.path }, "gRPC-Web call failed unexpectedly");
    start();
    exchange.end(encode(trailerFrame(failure.code, failure.message, failure.metadata)));
  }
}

function asGrpcError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error;
  if (error instanceof HeaderError || error instanceof FrameError)
    return new GrpcError(Status.INVALID_ARGUMENT, error.message);
  if (error instanceof GatewayError) return new GrpcError(error.code, error.message);
  return new GrpcError(Status.INTERNAL, "internal error");
}

/** A request body that is not one well-formed gRPC-Web message frame. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** The one message of a unary or server-streaming request: a single uncompressed data frame. */
export function singleMessage(body: Buffer): Buffer {
  if (body.length < 5) throw new FrameError("gRPC-Web request: expected one message frame");
  const flags = body[0]!;
  const length = body.readUInt32BE(1);
  if (flags & 0x01) throw new FrameError("gRPC-Web request: compressed messages are not supported");
  if (flags !== 0 || body.length !== 5 + length)
    throw new FrameError("gRPC-Web request: expected exactly one message frame");
  return body.subarray(5);
}

/** Decodes grpc-web-text: base64, possibly several padded chunks one after the other. */
export function decodeText(body: Buffer): Buffer {
  const text = body.toString("latin1").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/=]*$/.test(text)) throw new FrameError("gRPC-Web text request: not base64");
  const parts: Buffer[] = [];
  // Each chunk a sender flushed ends with its own padding, so decode up to every "=" run separately.
  for (const chunk of text.match(/[^=]*=*/g) ?? []) if (chunk) parts.push(Buffer.from(chunk, "base64"));
  return Buffer.concat(parts);
}

/** A length-prefixed frame: `flags`, then the big-endian length, then the payload. */
export function frame(flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** The trailer frame: grpc-status, grpc-message (percent-encoded) and the trailers, as HTTP/1 header lines. */
export function trailerFrame(code: number, message: string, trailer: Metadata | undefined): Buffer {
  let lines = `grpc-status: ${code}\r\n`;
  if (message) lines += `grpc-message: ${encodeMessage(message)}\r\n`;
  for (const [key, values] of Object.entries(trailer?.toJSON() ?? {})) {
    if (key === "grpc-status" || key === "grpc-message") continue;
    for (const value of values)
      lines += `${key}: ${typeof value === "string" ? value : Buffer.from(value).toString("base64")}\r\n`;
  }
  return frame(0x80, Buffer.from(lines, "latin1"));
}

/** grpc-message's encoding (PROTOCOL-HTTP2.md): printable ASCII but "%" as is, everything else percent-encoded. */
function encodeMessage(message: string): string {
  return Array.from(Buffer.from(message, "utf8"))
    .map((b) =>
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

/** The request's own headers as gRPC metadata (binary ones base64-decoded); HTTP and gRPC-Web headers left out. */
function requestMetadata(headers: IncomingHttpHeaders): Metadata {
  const metadata = new Metadata();
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined || name.startsWith(":") || NOT_METADATA.has(name) || name.startsWith("access-control-"))
      continue;
    if (!/^[0-9a-z._-]+$/.test(name)) continue;
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      if (name.endsWith("-bin")) metadata.add(name, Buffer.from(value, "base64"));
      else if (/^[\x20-\x7e]*$/.test(value)) metadata.add(name, value);
    }
  }
  return metadata;
}

/** Response header metadata as HTTP headers under their own names (gRPC-Web keeps gRPC's header names). */
function metadataAsHeaders(metadata: Metadata | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [key, values] of Object.entries(metadata?.toJSON() ?? {})) {
    if (key === "content-type" || key.startsWith("grpc-") || !/^[0-9a-z._-]+$/.test(key)) continue;
    headers[key] = values.map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64")));
  }
  return headers;
}
