import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * gRPC calls below any client library: HTTP/2 requests whose headers and frames a test writes byte for byte, to
 * send what well-behaved clients never do (bytes that are not the message they claim to be, a compressed flag
 * without an encoding, odd timeouts and metadata). Loopback only, bounded by a timeout.
 */

export interface RawCallOptions {
  /** Extra request headers (grpc-timeout, grpc-encoding, metadata), sent as given. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Gives up (and fails the promise) after this long; 10 s by default. */
  readonly timeoutMs?: number;
  /** Leave the request side open after the frames (for calls that should go on, such as long deadlines). */
  readonly keepOpen?: boolean;
  /**
   * How the response body is read: as fast as it comes ("eager", the default), "never" (HTTP/2 flow control then
   * stops the server once the window is full), or `bytes` every `everyMs` (a slow client).
   */
  readonly read?: "eager" | "never" | { readonly bytes: number; readonly everyMs: number };
}

export interface RawCallResult {
  /** grpc-status, from the trailers (or from the headers of a trailers-only answer); undefined if none came. */
  readonly code: number | undefined;
  /** grpc-message, percent-decoded. */
  readonly message: string;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  /** The response body: length-prefixed messages, as received. */
  readonly body: Buffer;
  /** The HTTP/2 error code the stream closed with: 0 when it ended normally, 8 (CANCEL) for a server's reset. */
  readonly rstCode: number;
}

/** One gRPC message as it travels in DATA frames: compressed flag, 4-byte big-endian length, bytes. */
export function grpcFrame(message: Uint8Array, compressedFlag = 0): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(compressedFlag, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** The messages of a response body (each without its prefix). */
export function grpcMessages(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    messages.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return messages;
}

/** An HTTP/2 connection to a gRPC server at "host:port" (plaintext), for rawCall. */
export function rawConnection(address: string): ClientHttp2Session {
  // Node's default session memory (10 MB, counting the data a session has queued to send) refuses the responses to
  // new streams with ENHANCE_YOUR_CALM once a few oversize requests are in flight: room for a fuzzer's worth.
  const session = connect(`http://${address}`, { maxSessionMemory: 256 });
  session.on("error", () => {
    // Reported through the calls made on it.
  });
  return session;
}

/**
 * POSTs `body` (already framed: see grpcFrame; several frames make a client stream) to `path` on `session`, ends
 * the request side, and resolves with the status once the server ends the call.
 */
export async function rawCall(
  session: ClientHttp2Session,
  path: string,
  body: Uint8Array,
  options: RawCallOptions = {},
): Promise<RawCallResult> {
  const stream = session.request({
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
    te: "trailers",
    ...options.headers,
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const chunks: Buffer[] = [];
  let headers: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders = {};
  let reader: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t: IncomingHttpHeaders) => (trailers = t));
    stream.on("close", () => resolve());
    stream.on("error", reject);
  });
  const read = options.read ?? "eager";
  if (read === "eager") stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  else {
    // Paused: nothing is taken from the stream but what is read here, so the receive window is not reopened.
    stream.pause();
    if (read !== "never") {
      reader = setInterval(() => {
        const chunk = stream.read(Math.min(read.bytes, stream.readableLength || read.bytes)) as Buffer | null;
        if (chunk) chunks.push(chunk);
      }, read.everyMs);
    }
  }
  if (options.keepOpen) stream.write(body);
  else stream.end(body);
  const stop = new AbortController();
  const timeout = sleep(timeoutMs, undefined, { signal: stop.signal }).then(
    () => {
      stream.close(constants.NGHTTP2_CANCEL);
      throw new Error(`no status for ${path} within ${timeoutMs} ms`);
    },
    () => undefined, // the call ended first
  );
  try {
    await Promise.race([ended, timeout]);
  } finally {
    stop.abort();
    clearInterval(reader);
  }
  const status = trailers["grpc-status"] ?? headers["grpc-status"];
  const message = trailers["grpc-message"] ?? headers["grpc-message"];
  return {
    code: status === undefined ? undefined : Number(status),
    message: typeof message === "string" ? decodeURIComponent(message) : "",
    headers,
    trailers,
    body: Buffer.concat(chunks),
    rstCode: stream.rstCode,
  };
}
