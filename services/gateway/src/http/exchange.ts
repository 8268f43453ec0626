import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { GatewayError } from "./errors.js";
import { Status } from "@lattice/kit";

/** A request over HTTP/1.1 or HTTP/2 (Node's compatibility API gives both the same shape). */
export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;

// The members both response types share, with one signature each (the union's overloads do not combine).
interface ResponseLike {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed?: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  once(event: "drain" | "close", listener: () => void): unknown;
  removeListener(event: "drain" | "close", listener: () => void): unknown;
}

/** One HTTP request and its response, whatever the protocol. */
export class Exchange {
  readonly method: string;
  /** The path, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  private readonly response: ResponseLike;
  /** Headers every response of this exchange gets (CORS), merged into writeHead. */
  readonly extraHeaders: Record<string, string> = {};
  /** When set (a CORS request), writeHead lists the response's own headers in Access-Control-Expose-Headers. */
  exposeHeaders = false;

  constructor(
    readonly request: HttpRequest,
    response: HttpResponse,
  ) {
    this.response = response;
    this.method = request.method ?? "GET";
    const target = request.url ?? "/";
    const q = target.indexOf("?");
    this.path = q >= 0 ? target.slice(0, q) : target;
    this.query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : "");
    this.headers = request.headers;
  }

  get remoteAddress(): string | undefined {
    return this.request.socket.remoteAddress;
  }

  /** Host (HTTP/1.1) or :authority (HTTP/2). */
  get authority(): string | undefined {
    const h2 = this.headers[":authority"];
    return typeof h2 === "string" ? h2 : this.headers.host;
  }

  get headersSent(): boolean {
    return this.response.headersSent;
  }

  /** True once the client has gone or the response has ended. */
  get closed(): boolean {
    return this.response.writableEnded || this.response.destroyed === true;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const all: OutgoingHttpHeaders = { ...headers, ...this.extraHeaders };
    if (this.exposeHeaders) {
      // Browsers hide every response header but a safelisted few from scripts unless the response names them.
      const exposed = Object.keys(headers).filter((name) => !CORS_SAFELISTED.has(name.toLowerCase()));
      if (exposed.length > 0) all["access-control-expose-headers"] = exposed.join(", ");
    }
    this.response.writeHead(status, all);
  }

  /**
   * Writes a chunk and waits while the client's connection is full (HTTP/1.1 socket or HTTP/2 flow control), so a
   * slow reader slows whoever produces the chunks. Resolves false when the client has gone.
   */
  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.closed) return false;
    if (this.response.write(chunk)) return true;
    return new Promise((resolve) => {
      const drained = () => {
        this.response.removeListener("close", closed);
        resolve(true);
      };
      const closed = () => {
        this.response.removeListener("drain", drained);
        resolve(false);
      };
      this.response.once("drain", drained);
      this.response.once("close", closed);
    });
  }

  end(chunk?: string | Uint8Array, trailers?: OutgoingHttpHeaders): void {
    if (this.closed) return;
    if (trailers && Object.keys(trailers).length > 0) this.response.addTrailers(trailers);
    this.response.end(chunk);
  }

  /** Calls `listener` when the client goes before the response has ended. */
  onClientGone(listener: () => void): void {
    this.response.once("close", () => {
      if (!this.response.writableEnded) listener();
    });
  }

  /**
   * The request body, at most `limit` bytes; GatewayError RESOURCE_EXHAUSTED (HTTP 413) past that, without reading
   * the rest.
   */
  async body(limit: number): Promise<Buffer> {
    const declared = Number(this.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
}

const CORS_SAFELISTED = new Set([
  "cache-control",
  "content-language",
  "content-length",
  "content-type",
  "expires",
  "last-modified",
  "pragma",
]);

function tooLarge(limit: number): GatewayError {
  return new GatewayError(Status.RESOURCE_EXHAUSTED, `request body larger than ${limit} bytes`, 413);
}
