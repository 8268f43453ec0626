import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  baseConfigSchema,
  ConfigError,
  createClient,
  GrpcError,
  loadConfig,
  NotFoundError,
  Status,
  tracingEnabled,
  tracingSettings,
} from "@lattice/kit";
import {
  collect,
  eventually,
  grpcErrorOf,
  recordSpans,
  startTestService,
  type ReadableSpan,
  type RecordedSpans,
  type TestService,
} from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

describe("tracing settings (OTEL_* variables)", () => {
  const settings = (env: Record<string, string>) => tracingSettings(loadConfig(baseConfigSchema, env));

  it("is off when nothing is set, when disabled, and with the none exporter", () => {
    assert.equal(settings({}).enabled, false);
    assert.equal(settings({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }).enabled, false);
    assert.equal(
      settings({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }).enabled,
      false,
    );
  });

  it("exports OTLP to <endpoint>/v1/traces, or to the traces endpoint as given", () => {
    const base = settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" });
    assert.ok(base.enabled);
    assert.equal(base.otlpUrl, "http://collector:4318/v1/traces");
    assert.equal(base.sampler, "parentbased_always_on");
    assert.deepEqual(base.propagators, ["tracecontext", "baggage"]);
    const exact = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other:9999/traces",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=staging,team=pay%20ments",
      OTEL_SERVICE_NAME: "orders-eu",
    });
    assert.ok(exact.enabled);
    assert.equal(exact.otlpUrl, "http://other:9999/traces");
    assert.equal(exact.samplerRatio, 0.25);
    assert.equal(exact.serviceName, "orders-eu");
    assert.deepEqual(exact.resourceAttributes, { "deployment.environment.name": "staging", team: "pay ments" });
    const consoleOnly = settings({ OTEL_TRACES_EXPORTER: "console" });
    assert.ok(consoleOnly.enabled);
    assert.equal(consoleOnly.otlpUrl, undefined);
    assert.equal(consoleOnly.console, true);
  });

  it("refuses what it cannot honour, naming the variable", () => {
    assert.throws(
      () => loadConfig(baseConfigSchema, { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
      (error: unknown) =>
        error instanceof ConfigError && /OTEL_EXPORTER_OTLP_PROTOCOL: only http\/protobuf/.test(error.message),
    );
    assert.throws(() => loadConfig(baseConfigSchema, { OTEL_TRACES_SAMPLER: "sometimes" }), /OTEL_TRACES_SAMPLER/);
    assert.throws(() => loadConfig(baseConfigSchema, { OTEL_TRACES_EXPORTER: "zipkin" }), /OTEL_TRACES_EXPORTER/);
    assert.throws(() => loadConfig(baseConfigSchema, { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }), /ENDPOINT/);
  });
});

/** `front`'s Greet calls `back`'s Greet; its ListGreetings calls back from inside the stream; back fails on demand. */
async function twoServices() {
  const back = await startTestService(
    greeterModule(
      {
        greet(request, ctx) {
          ctx.log.info("back handles it");
          if (request.name === "missing") throw new NotFoundError("greeting", request.name);
          if (request.name === "broken") throw new Error("a bug");
          return { message: `back: ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED };
        },
      },
      { name: "back" },
    ),
  );
  const toBack = createClient(GreeterServiceService, back.grpcAddress);
  const front = await startTestService(
    greeterModule(
      {
        async greet(request, ctx) {
          ctx.log.info("front calls back");
          return toBack.greet(request);
        },
        async *listGreetings(request) {
          for (let sequence = 1; sequence <= request.count; sequence++)
            yield { message: (await toBack.greet(ADA)).message, language: Language.LANGUAGE_UNSPECIFIED, sequence };
        },
      },
      { name: "front" },
    ),
  );
  return {
    back,
    front,
    client: createClient(GreeterServiceService, front.grpcAddress),
    async close() {
      toBack.close();
      await front.shutdown();
      await back.shutdown();
    },
  };
}

const byName = (spans: readonly ReadableSpan[], name: string, kind: SpanKind) =>
  spans.filter((span) => span.name === name && span.kind === kind);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("tracing across services", () => {
  let recorded: RecordedSpans;
  let services: Awaited<ReturnType<typeof twoServices>>;
  before(async () => {
    recorded = recordSpans();
    services = await twoServices();
  });
  after(async () => {
    try {
      services.client.close();
      await services.close();
    } finally {
      await recorded.stop();
    }
  });

  it("makes one trace of a call and the call it makes, parent to child, with the request id on every span", async () => {
    recorded.reset();
    const root = trace.getTracer("test").startSpan("test root");
    const reply = await context.with(trace.setSpan(context.active(), root), () =>
      services.client.greet(ADA, { metadata: { "x-request-id": "req-trace-1" } }),
    );
    root.end();
    assert.equal(reply.message, "back: Ada");
    const spans = await eventually(() => {
      const all = recorded.spans();
      assert.equal(all.filter((span) => span.name === "lattice.greeter.v1.GreeterService/Greet").length, 4);
      return all;
    });
    const name = "lattice.greeter.v1.GreeterService/Greet";
    const clients = byName(spans, name, SpanKind.CLIENT);
    const servers = byName(spans, name, SpanKind.SERVER);
    assert.equal(clients.length, 2);
    assert.equal(servers.length, 2);
    const testClient = clients.find((span) => parentOf(span) === root.spanContext().spanId);
    assert.ok(testClient, "the test's call is a child of the test's span");
    const frontServer = servers.find((span) => parentOf(span) === testClient.spanContext().spanId);
    assert.ok(frontServer, "front's server span continues the test's call");
    const frontClient = clients.find((span) => parentOf(span) === frontServer.spanContext().spanId);
    assert.ok(frontClient, "front's call to back is a child of front's server span");
    const backServer = servers.find((span) => parentOf(span) === frontClient.spanContext().spanId);
    assert.ok(backServer, "back continues front's call");
    for (const span of [testClient, frontServer, frontClient, backServer]) {
      assert.equal(span.spanContext().traceId, root.spanContext().traceId);
      assert.equal(span.attributes["rpc.system"], "grpc");
      assert.equal(span.attributes["rpc.service"], "lattice.greeter.v1.GreeterService");
      assert.equal(span.attributes["rpc.method"], "Greet");
      assert.equal(span.attributes["rpc.grpc.status_code"], Status.OK);
      assert.equal(span.attributes["lattice.request_id"], "req-trace-1");
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    }
    assert.equal(typeof frontServer.attributes["network.peer.address"], "string");
    assert.equal(frontClient.attributes["server.address"], "127.0.0.1");
    assert.equal(typeof frontClient.attributes["server.port"], "number");
  });

  it("puts trace_id and span_id on the log lines written while handling a call", async () => {
    recorded.reset();
    await services.client.greet(ADA);
    const spans = await eventually(() => {
      const all = byName(recorded.spans(), "lattice.greeter.v1.GreeterService/Greet", SpanKind.SERVER);
      assert.equal(all.length, 2);
      return all;
    });
    const lineOf = (service: TestService, msg: string, spanId: string) =>
      service.logs.find((line) => line.msg === msg && line["span_id"] === spanId);
    for (const [service, msg] of [
      [services.front, "front calls back"],
      [services.back, "back handles it"],
    ] as const) {
      const line = spans.map((span) => lineOf(service, msg, span.spanContext().spanId)).find(Boolean);
      assert.ok(line, `${msg}: a line with its server span's id`);
      assert.equal(line["trace_id"], spans[0]!.spanContext().traceId);
    }
  });

  it("marks a server span failed only for the server's own failures; a client span for any failure", async () => {
    recorded.reset();
    assert.equal((await grpcErrorOf(services.client.greet({ ...ADA, name: "missing" }))).code, Status.NOT_FOUND);
    const notFound = await eventually(() => {
      const spans = byName(recorded.spans(), "lattice.greeter.v1.GreeterService/Greet", SpanKind.SERVER);
      assert.equal(spans.length, 2);
      return spans;
    });
    for (const span of notFound) {
      assert.equal(span.attributes["rpc.grpc.status_code"], Status.NOT_FOUND);
      assert.equal(span.status.code, SpanStatusCode.UNSET, "NOT_FOUND is a correct answer on the server side");
    }
    for (const span of byName(recorded.spans(), "lattice.greeter.v1.GreeterService/Greet", SpanKind.CLIENT)) {
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes["error.type"], "NOT_FOUND");
    }

    recorded.reset();
    const broken = await grpcErrorOf(services.client.greet({ ...ADA, name: "broken" }));
    assert.ok(broken instanceof GrpcError);
    assert.equal(broken.code, Status.INTERNAL);
    const internal = await eventually(() => {
      const spans = byName(recorded.spans(), "lattice.greeter.v1.GreeterService/Greet", SpanKind.SERVER);
      assert.equal(spans.length, 2);
      return spans;
    });
    for (const span of internal) {
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes["error.type"], "INTERNAL");
    }
  });

  it("ends a response stream's span with the stream, and keeps it active while each message is made", async () => {
    recorded.reset();
    const messages = await collect(services.client.listGreetings({ name: "Ada", count: 3 }));
    assert.equal(messages.length, 3);
    const spans = await eventually(() => {
      const all = recorded.spans();
      assert.equal(byName(all, "lattice.greeter.v1.GreeterService/ListGreetings", SpanKind.SERVER).length, 1);
      assert.equal(byName(all, "lattice.greeter.v1.GreeterService/Greet", SpanKind.SERVER).length, 3);
      return all;
    });
    const stream = byName(spans, "lattice.greeter.v1.GreeterService/ListGreetings", SpanKind.SERVER)[0]!;
    assert.equal(stream.attributes["rpc.grpc.status_code"], Status.OK);
    const calls = byName(spans, "lattice.greeter.v1.GreeterService/Greet", SpanKind.CLIENT);
    assert.equal(calls.length, 3);
    for (const call of calls) {
      assert.equal(parentOf(call), stream.spanContext().spanId, "each call made from the stream is its child");
    }
  });
});

describe("tracing off", () => {
  it("sends no trace context, makes no spans and adds nothing to the chain or the log lines", async () => {
    assert.equal(tracingEnabled(), false);
    const seen: (string | undefined)[] = [];
    const back = await startTestService(
      greeterModule({
        greet(_request, ctx) {
          seen.push(ctx.requestHeader.get("traceparent")[0] as string | undefined);
          ctx.log.info("handled");
          return { message: "ok", language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
    );
    const client = createClient(GreeterServiceService, back.grpcAddress);
    try {
      const parent = trace.getTracer("test").startSpan("ignored");
      await context.with(trace.setSpan(context.active(), parent), () => client.greet(ADA));
      assert.deepEqual(seen, [undefined]);
      const line = back.logs.find((entry) => entry.msg === "handled");
      assert.ok(line);
      assert.equal(line["trace_id"], undefined);
      // metrics, logging, recovery, validation: no tracing layer.
      assert.equal(back.server.interceptors.length, 4);
    } finally {
      client.close();
      await back.shutdown();
    }
  });
});
