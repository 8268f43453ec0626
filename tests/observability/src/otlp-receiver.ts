import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { loadSync } from "@grpc/proto-loader";

/** One span as a service exported it, with ids in hex and attributes as plain values. */
export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer" | "unspecified";
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message: string };
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly startNanos: bigint;
  readonly endNanos: bigint;
}

/** An OTLP/HTTP receiver on loopback that keeps every span it is sent. */
export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (spans arrive at <url>/v1/traces). */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  /** Export requests that were not OTLP protobuf, or not on /v1/traces. */
  readonly rejected: readonly string[];
  close(): Promise<void>;
}

// The OTLP definitions, vendored from opentelemetry-proto (see ../opentelemetry-proto/README.md).
const PROTO_ROOT = fileURLToPath(new URL("../../opentelemetry-proto", import.meta.url));

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  attributes?: KeyValue[];
  status?: { code?: string; message?: string };
  links?: { traceId: Buffer; spanId: Buffer }[];
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface ExportTraceServiceRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** Decodes an ExportTraceServiceRequest with the opentelemetry-proto definitions (protobufjs, via proto-loader). */
function traceRequestDecoder(): (body: Buffer) => ExportTraceServiceRequest {
  const definition = loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto", {
    includeDirs: [PROTO_ROOT],
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
  });
  const service = definition["opentelemetry.proto.collector.trace.v1.TraceService"] as unknown as {
    Export: { requestDeserialize: (body: Buffer) => ExportTraceServiceRequest };
  };
  return (body) => service.Export.requestDeserialize(body);
}

function plain(value: AnyValue | undefined): string | number | boolean {
  if (!value) return "";
  if (value.stringValue !== undefined && value.stringValue !== "") return value.stringValue;
  if (value.intValue !== undefined && value.intValue !== "0") return Number(value.intValue);
  if (value.doubleValue !== undefined && value.doubleValue !== 0) return value.doubleValue;
  if (value.boolValue) return true;
  if (value.arrayValue?.values) return value.arrayValue.values.map((v) => String(plain(v))).join(",");
  return value.intValue === "0" ? 0 : "";
}

function attributesOf(list: readonly KeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

const KINDS: Record<string, ReceivedSpan["kind"]> = {
  SPAN_KIND_INTERNAL: "internal",
  SPAN_KIND_SERVER: "server",
  SPAN_KIND_CLIENT: "client",
  SPAN_KIND_PRODUCER: "producer",
  SPAN_KIND_CONSUMER: "consumer",
};
const STATUSES: Record<string, ReceivedSpan["status"]["code"]> = {
  STATUS_CODE_OK: "ok",
  STATUS_CODE_ERROR: "error",
};

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/** Starts the receiver on 127.0.0.1 and an ephemeral port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const decode = traceRequestDecoder();
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        rejected.push(`${request.method ?? "?"} ${request.url ?? "?"}`);
        response.writeHead(404).end();
        return;
      }
      if (request.headers["content-type"] !== "application/x-protobuf") {
        rejected.push(`content-type ${request.headers["content-type"] ?? "none"}`);
        response.writeHead(415).end();
        return;
      }
      for (const resourceSpans of decode(body).resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              service: String(resource["service.name"]),
              traceId: span.traceId.toString("hex"),
              spanId: span.spanId.toString("hex"),
              parentSpanId: span.parentSpanId.toString("hex"),
              name: span.name,
              kind: KINDS[span.kind] ?? "unspecified",
              attributes: attributesOf(span.attributes),
              status: { code: STATUSES[span.status?.code ?? ""] ?? "unset", message: span.status?.message ?? "" },
              links: (span.links ?? []).map((link) => ({
                traceId: link.traceId.toString("hex"),
                spanId: link.spanId.toString("hex"),
              })),
              startNanos: BigInt(span.startTimeUnixNano),
              endNanos: BigInt(span.endTimeUnixNano),
            });
      }
      // An empty ExportTraceServiceResponse: full success.
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    })().catch((error: unknown) => {
      rejected.push(String(error));
      response.writeHead(400).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rejected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
