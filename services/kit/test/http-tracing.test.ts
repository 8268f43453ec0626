import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { createClient, httpServerSpan } from "@lattice/kit";
import { eventually, recordSpans, startTestService, type RecordedSpans, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

/**
 * An HTTP edge in front of a Lattice service, as the REST gateway will be: each request is an httpServerSpan, and the
 * call it forwards through a Lattice client continues the trace into the service.
 */
describe("an HTTP edge joins the trace with httpServerSpan", () => {
  let recorded: RecordedSpans;
  let greeter: TestService;
  let url: string;
  const server = createServer();
  before(async () => {
    recorded = recordSpans("edge");
    greeter = await startTestService(greeterModule());
    const client = createClient(GreeterServiceService, greeter.grpcAddress);
    server.on("request", (req, res) => {
      const route = req.url?.startsWith("/v1/greetings/") ? "/v1/greetings/{name}" : undefined;
      const span = httpServerSpan(req, route, "req-http-1");
      res.on("close", () => span.end(res.statusCode));
      void span.run(async () => {
        const name = decodeURIComponent(req.url!.split("/").pop()!);
        if (name === "boom") {
          res.writeHead(503).end();
          return;
        }
        const reply = await client.greet({ ...ADA, name });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
      });
    });
    server.on("close", () => client.close());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    try {
      server.close();
      await greeter.shutdown();
    } finally {
      await recorded.stop();
    }
  });

  it("continues the caller's traceparent into a SERVER span named by the route, parent of the gRPC call it makes", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(`${url}/v1/greetings/Grace?lang=en`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "user-agent": "edge-test" },
    });
    assert.equal(response.status, 200);
    const spans = await eventually(() => {
      const all = recorded.spans();
      assert.ok(all.some((span) => span.kind === SpanKind.SERVER && span.name.endsWith("/Greet")));
      assert.ok(all.some((span) => span.name === "GET /v1/greetings/{name}"));
      return all;
    });
    const http = spans.find((span) => span.name === "GET /v1/greetings/{name}")!;
    assert.equal(http.kind, SpanKind.SERVER);
    assert.equal(http.spanContext().traceId, traceId);
    assert.equal(http.parentSpanContext?.spanId, "00f067aa0ba902b7");
    assert.equal(http.attributes["http.request.method"], "GET");
    assert.equal(http.attributes["http.route"], "/v1/greetings/{name}");
    assert.equal(http.attributes["url.path"], "/v1/greetings/Grace");
    assert.equal(http.attributes["http.response.status_code"], 200);
    assert.equal(http.attributes["user_agent.original"], "edge-test");
    assert.equal(http.attributes["lattice.request_id"], "req-http-1");
    const call = spans.find((span) => span.kind === SpanKind.CLIENT && span.name.endsWith("/Greet"))!;
    assert.equal(call.parentSpanContext?.spanId, http.spanContext().spanId);
    const served = spans.find((span) => span.kind === SpanKind.SERVER && span.name.endsWith("/Greet"))!;
    assert.equal(served.parentSpanContext?.spanId, call.spanContext().spanId);
    assert.equal(served.spanContext().traceId, traceId);
  });

  it("marks a 5xx answer failed, and starts a trace of its own without a traceparent", async () => {
    recorded.reset();
    assert.equal((await fetch(`${url}/v1/greetings/boom`)).status, 503);
    const http = await eventually(() => {
      const found = recorded.spans().find((span) => span.name === "GET /v1/greetings/{name}");
      assert.ok(found);
      return found;
    });
    assert.equal(http.status.code, SpanStatusCode.ERROR);
    assert.equal(http.attributes["http.response.status_code"], 503);
    assert.equal(http.parentSpanContext, undefined);
  });
});
