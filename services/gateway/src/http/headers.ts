import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Metadata } from "@grpc/grpc-js";

/** Prefix of request headers passed as gRPC metadata without it, and of response headers carrying response metadata. */
export const METADATA_HEADER_PREFIX = "grpc-metadata-";
/** Prefix of the HTTP trailers (or headers) carrying the gRPC response trailers. */
export const TRAILER_HEADER_PREFIX = "grpc-trailer-";
/** Prefix grpc-gateway gives the IANA permanent request headers it forwards as metadata (e.g. grpcgateway-user-agent). */
export const GATEWAY_METADATA_PREFIX = "grpcgateway-";

// IANA's permanent request headers, the list grpc-gateway forwards under GATEWAY_METADATA_PREFIX.
const PERMANENT_HEADERS = new Set([
  "accept",
  "accept-charset",
  "accept-language",
  "accept-ranges",
  "authorization",
  "cache-control",
  "content-type",
  "cookie",
  "date",
  "expect",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-schedule-tag-match",
  "if-unmodified-since",
  "max-forwards",
  "origin",
  "pragma",
  "referer",
  "user-agent",
  "via",
  "warning",
]);

/** Headers forwarded as they are: tracing (W3C Trace Context) and the request id every Lattice service logs. */
const PASSED_THROUGH = new Set(["authorization", "traceparent", "tracestate", "x-request-id"]);

/** A request header the gateway cannot forward (a bad binary value, a malformed Grpc-Timeout): HTTP 400. */
export class HeaderError extends Error {
  override readonly name = "HeaderError";
}

const METADATA_KEY = /^[0-9a-z._-]+$/;
// Printable ASCII, what gRPC allows in a text metadata value.
const TEXT_VALUE = /^[\x20-\x7e]*$/;

/** Where the request came from, for X-Forwarded-For and X-Forwarded-Host. */
export interface RequestOrigin {
  readonly remoteAddress: string | undefined;
  /** Host header (HTTP/1.1) or :authority (HTTP/2). */
  readonly authority: string | undefined;
}

/**
 * The gRPC metadata of a REST request, by grpc-gateway's rules: `Grpc-Metadata-<key>` as `<key>` (a `-bin` key's
 * value base64-decoded), the IANA permanent headers as `grpcgateway-<name>`, `authorization` as it is, and
 * X-Forwarded-For (with the client's address appended) and X-Forwarded-Host. Lattice also forwards `traceparent`,
 * `tracestate` and `x-request-id` unchanged. Every other header is dropped. Keys that are not valid gRPC metadata
 * keys and text values that are not printable ASCII are skipped; a bad base64 value is a HeaderError.
 */
export function restMetadata(headers: IncomingHttpHeaders, origin: RequestOrigin): Metadata {
  const metadata = new Metadata();
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined || name.startsWith(":")) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (name === "x-forwarded-for" || name === "x-forwarded-host") continue;
    let key: string | undefined;
    if (name.startsWith(METADATA_HEADER_PREFIX)) key = name.slice(METADATA_HEADER_PREFIX.length);
    else if (PERMANENT_HEADERS.has(name)) key = GATEWAY_METADATA_PREFIX + name;
    if (PASSED_THROUGH.has(name)) for (const value of values) addText(metadata, name, value);
    if (key === undefined || !METADATA_KEY.test(key)) continue;
    for (const value of values) {
      if (key.endsWith("-bin")) metadata.add(key, decodeBinary(name, value));
      else addText(metadata, key, value);
    }
  }
  const forwardedHost = first(headers["x-forwarded-host"]) ?? origin.authority;
  if (forwardedHost) addText(metadata, "x-forwarded-host", forwardedHost);
  const forwardedFor = first(headers["x-forwarded-for"]);
  const remote = origin.remoteAddress?.replace(/^::ffff:/, "");
  if (remote) addText(metadata, "x-forwarded-for", forwardedFor ? `${forwardedFor}, ${remote}` : remote);
  return metadata;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function addText(metadata: Metadata, key: string, value: string): void {
  if (TEXT_VALUE.test(value)) metadata.add(key, value);
}

function decodeBinary(header: string, value: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.replace(/=+$/, "").length % 4 === 1)
    throw new HeaderError(`invalid binary header ${header}: not base64`);
  return Buffer.from(value, "base64");
}

const TIMEOUT_UNITS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * A `Grpc-Timeout` header ("<digits><unit>", units H M S m u n, as gRPC sends it) in milliseconds; undefined when
 * absent. HeaderError for a malformed one (grpc-gateway answers INVALID_ARGUMENT "invalid grpc-timeout").
 */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  const text = first(value);
  if (text === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text);
  if (!match) throw new HeaderError(`invalid grpc-timeout: ${text}`);
  return Number(match[1]) * TIMEOUT_UNITS[match[2]!]!;
}

// Metadata that describes the gRPC transport itself, not the application: never copied into HTTP headers.
const TRANSPORT_KEYS = new Set([
  "content-type",
  "date",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-encoding",
  "grpc-accept-encoding",
]);

/**
 * Response metadata as HTTP headers: each key as `<prefix><key>` (grpc-gateway: Grpc-Metadata- for headers,
 * Grpc-Trailer- for trailers), binary values base64-encoded as on the gRPC wire.
 */
export function metadataHeaders(metadata: Metadata | undefined, prefix: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (!metadata) return headers;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (TRANSPORT_KEYS.has(key) || !METADATA_KEY.test(key)) continue;
    headers[prefix + key] = values.map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64")));
  }
  return headers;
}

/** True when the client said it takes trailers (`TE: trailers`); only then are Grpc-Trailer-* sent (RFC 7230 4.1.2). */
export function acceptsTrailers(headers: IncomingHttpHeaders): boolean {
  const te = headers.te;
  return (Array.isArray(te) ? te.join(",") : (te ?? "")).toLowerCase().includes("trailers");
}
