import type { IncomingHttpHeaders } from "node:http";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** How the messages of a server stream are written into one HTTP response. */
export interface StreamFraming {
  readonly name: "ndjson" | "sse";
  readonly contentType: string;
  /** One message, as JSON. */
  message(json: JsonValue): string;
  /** The stream failed after it began, or before (then with the HTTP status of the code): a google.rpc.Status. */
  failure(status: JsonObject): string;
  /** The stream ended well; `status` is google.rpc.Status with code 0. */
  end(status: JsonObject): string;
  /** Written now and then while nothing else is, so proxies keep an idle stream open; "" for none. */
  readonly heartbeat: string;
}

/**
 * grpc-gateway's framing: one JSON object per line, `{"result": <message>}`, and `{"error": <google.rpc.Status>}`
 * when the stream fails; nothing marks a good end but the end of the body.
 */
export const NDJSON: StreamFraming = {
  name: "ndjson",
  contentType: "application/json",
  message: (json) => JSON.stringify({ result: json }) + "\n",
  failure: (status) => JSON.stringify({ error: status }) + "\n",
  end: () => "",
  heartbeat: "",
};

/**
 * Server-Sent Events (the WHATWG HTML event stream): each message is a default ("message") event whose data is the
 * message's JSON; the stream closes with one `status` event carrying google.rpc.Status (code 0 when it ended well).
 * EventSource reconnects whenever a response ends, and a gRPC stream cannot resume where it stopped, so a client
 * closes its EventSource on `status` (it is not named "error": EventSource already uses that name for connection
 * failures). Comment lines keep idle streams open through proxies.
 */
export const SSE: StreamFraming = {
  name: "sse",
  contentType: "text/event-stream",
  message: (json) => `data: ${JSON.stringify(json)}\n\n`,
  failure: (status) => `event: status\ndata: ${JSON.stringify(status)}\n\n`,
  end: (status) => `event: status\ndata: ${JSON.stringify(status)}\n\n`,
  heartbeat: ": keep-alive\n\n",
};

/** The same lines labelled as what they are, for clients that ask for it (Accept: application/x-ndjson). */
export const NDJSON_LABELLED: StreamFraming = { ...NDJSON, contentType: "application/x-ndjson" };

/**
 * SSE when the client accepts text/event-stream (as EventSource always says), else NDJSON: as application/x-ndjson
 * when the client accepts that, and otherwise as application/json, the type grpc-gateway gives its streams.
 */
export function framingFor(headers: IncomingHttpHeaders): StreamFraming {
  const accept = (headers.accept ?? "").toLowerCase();
  if (accept.includes("text/event-stream")) return SSE;
  return accept.includes("application/x-ndjson") ? NDJSON_LABELLED : NDJSON;
}
