/** One plain HTTP/2 (h2c, prior knowledge) GET, for servers that speak only HTTP/2: fetch speaks HTTP/1.1. */
import { connect } from "node:http2";

export interface Http2Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** GETs `url` over a fresh h2c connection; rejects on a connection or stream error, or after `timeoutMs`. */
export function http2Get(url: string, timeoutMs = 2000): Promise<Http2Answer> {
  const { origin, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    const timer = setTimeout(
      () => session.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    session.once("error", (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    const stream = session.request({ ":method": "GET", ":path": `${pathname}${search}` });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("error", (error: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(error);
    });
    stream.once("end", () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, body: Buffer.concat(chunks) });
    });
    stream.end();
  });
}
