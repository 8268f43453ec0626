import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { Duplex } from "node:stream";
import type { HttpRequest, HttpResponse } from "./exchange.js";

/** A listening HTTP server. */
export interface HttpListener {
  /** e.g. "http://127.0.0.1:8080" */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting, ends idle connections and lets requests in flight finish for up to `graceMs`, then closes
   * every connection that is left (long streams included).
   */
  close(graceMs?: number): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Serves HTTP/1.1 and cleartext HTTP/2 with prior knowledge (h2c, what gRPC-Web proxies and curl --http2-prior-knowledge
 * speak) on one port: each connection's first bytes say which. HTTP/1.1's Upgrade: h2c is not offered; browsers
 * speak HTTP/2 only over TLS, which a Kubernetes Ingress or the mesh terminates in front of the gateway.
 */
export async function listenHttp(
  handler: (request: HttpRequest, response: HttpResponse) => Promise<void>,
  host: string,
  port: number,
): Promise<HttpListener> {
  const h1 = createHttp1Server((req: IncomingMessage, res: ServerResponse) => void handler(req, res));
  // Streams (SSE, NDJSON) may stay open for as long as the call does: no socket inactivity timeout.
  h1.timeout = 0;
  h1.requestTimeout = 0;
  const h2 = createHttp2Server({}, (req: Http2ServerRequest, res: Http2ServerResponse) => void handler(req, res));
  const sessions = new Set<Http2Session>();
  h2.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      const n = Math.min(first.length, PREFACE.length);
      if (first.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        h2.emit("connection", replaying(socket, first));
      } else {
        socket.unshift(first);
        h1.emit("connection", socket);
        socket.resume();
      }
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      h1.closeIdleConnections();
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * The socket as a stream that first yields the bytes already read from it. Node's HTTP/2 server reads a TCP socket's
 * native handle directly, past anything put back with unshift(); a plain Duplex it reads through JavaScript, so the
 * preface read to choose the protocol reaches it.
 */
function replaying(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end(done);
    },
    destroy(error, done) {
      socket.destroy(error ?? undefined);
      done(error);
    },
  });
  duplex.push(first);
  socket.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once("end", () => duplex.push(null));
  socket.once("close", () => duplex.destroy());
  for (const name of ["remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"] as const)
    Object.defineProperty(duplex, name, { get: () => socket[name] });
  return duplex;
}
