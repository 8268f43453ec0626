import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { createClient, DEFAULT_RETRY_SETTINGS, GrpcError, NotFoundError, Status } from "@lattice/kit";
import { ClientMetrics } from "@lattice/kit/internal";
import { collect, grpcErrorOf, Scrape, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

const GREETER = "lattice.greeter.v1.GreeterService";
const labels = (type: string, method: string) => ({ grpc_type: type, grpc_service: GREETER, grpc_method: method });

describe("RPC metrics with go-grpc-prometheus names, on both ends of a call", () => {
  it("counts calls, codes, messages, latency and retries the way go-grpc-prometheus does", async () => {
    let greets = 0;
    await using service = await startTestService(
      greeterModule({
        greet(request) {
          greets++;
          // The first attempt of "retry me" fails with a code the retry policy repeats.
          if (request.name === "retry me" && greets === 1) throw new GrpcError(Status.UNAVAILABLE, "try again");
          if (request.name === "nobody") throw new NotFoundError("greeting", request.name);
          return { message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
    );
    const registry = new Registry();
    const client = createClient(GreeterServiceService, service.grpcAddress, {
      name: "greeter",
      metrics: ClientMetrics.of(registry),
      retry: { ...DEFAULT_RETRY_SETTINGS, maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
    });
    try {
      await client.greet({ ...ADA, name: "retry me" });
      await client.greet(ADA);
      assert.equal((await grpcErrorOf(client.greet({ ...ADA, name: "nobody" }))).code, Status.NOT_FOUND);
      assert.equal((await collect(client.listGreetings({ name: "Ada", count: 3 }))).length, 3);
      assert.equal((await client.recordGreetings([ADA, ADA, ADA, ADA])).count, 4);
      assert.equal((await collect(client.chatGreetings([ADA, ADA]))).length, 2);

      const server = new Scrape(await service.server.metrics.render());
      const greet = labels("unary", "Greet");
      // The retried call arrived twice: two started, one of them a retry.
      assert.equal(server.value("grpc_server_started_total", greet), 4);
      assert.equal(server.value("grpc_server_retries_total", greet), 1);
      assert.equal(server.value("grpc_server_handled_total", { ...greet, grpc_code: "OK" }), 2);
      assert.equal(server.value("grpc_server_handled_total", { ...greet, grpc_code: "Unavailable" }), 1);
      assert.equal(server.value("grpc_server_handled_total", { ...greet, grpc_code: "NotFound" }), 1);
      assert.equal(server.value("grpc_server_msg_received_total", greet), 4);
      assert.equal(server.value("grpc_server_msg_sent_total", greet), 2, "only answered calls send a message");
      assert.equal(server.value("grpc_server_msg_sent_total", labels("server_stream", "ListGreetings")), 3);
      assert.equal(server.value("grpc_server_msg_received_total", labels("client_stream", "RecordGreetings")), 4);
      assert.equal(server.value("grpc_server_msg_received_total", labels("bidi_stream", "ChatGreetings")), 2);
      assert.equal(server.value("grpc_server_msg_sent_total", labels("bidi_stream", "ChatGreetings")), 2);
      const serverLatency = server.series("grpc_server_handling_seconds", greet)[0]!;
      assert.equal(serverLatency.value, 4);
      assert.equal(serverLatency.buckets?.["+Inf"], 4);
      assert.deepEqual(Object.keys(serverLatency.buckets ?? {}).length, 12, "DefBuckets and +Inf");

      const clientSide = new Scrape(await registry.metrics());
      // The application made one call, which grpc-js sent twice.
      assert.equal(clientSide.value("grpc_client_started_total", greet), 3);
      assert.equal(clientSide.value("grpc_client_retries_total", greet), 1);
      assert.equal(clientSide.value("grpc_client_handled_total", { ...greet, grpc_code: "OK" }), 2);
      assert.equal(clientSide.value("grpc_client_handled_total", { ...greet, grpc_code: "NotFound" }), 1);
      assert.equal(clientSide.value("grpc_client_msg_sent_total", greet), 3);
      assert.equal(clientSide.value("grpc_client_msg_received_total", greet), 2);
      assert.equal(clientSide.value("grpc_client_msg_received_total", labels("server_stream", "ListGreetings")), 3);
      assert.equal(clientSide.value("grpc_client_msg_sent_total", labels("client_stream", "RecordGreetings")), 4);
      assert.equal(clientSide.value("grpc_client_msg_sent_total", labels("bidi_stream", "ChatGreetings")), 2);
      assert.equal(clientSide.value("grpc_client_msg_received_total", labels("bidi_stream", "ChatGreetings")), 2);
      assert.equal(clientSide.series("grpc_client_handling_seconds", greet)[0]?.value, 3);
      for (const name of ["grpc_client_started_total", "grpc_client_handled_total", "grpc_client_handling_seconds"])
        assert.equal(
          clientSide.families.get(name)?.type,
          name.endsWith("seconds") ? "histogram" : "counter",
          `${name} has the type dashboards expect`,
        );
    } finally {
      client.close();
    }
  });
});

describe("the Prometheus text parser of the testing tools", () => {
  it("reads labels with escapes, special values and labelled histograms, and refuses malformed lines", () => {
    const scrape = new Scrape(
      [
        "# HELP odd A help text with a \\\\ and a \\n.",
        "# TYPE odd gauge",
        'odd{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} +Inf 1395066363000',
        "odd{} NaN",
        'odd{as="prom-client writes it"} Nan',
        'odd{as="lower case"} -inf',
        "# TYPE h histogram",
        'h_bucket{m="a",le="0.5"} 1',
        'h_bucket{m="a",le="+Inf"} 2',
        'h_sum{m="a"} 0.7',
        'h_count{m="a"} 2',
        'h_bucket{m="b",le="0.5"} 0',
        'h_bucket{m="b",le="+Inf"} 5',
        'h_sum{m="b"} 9',
        'h_count{m="b"} 5',
        "untyped_thing 3",
      ].join("\n"),
    );
    const odd = scrape.families.get("odd")!;
    assert.equal(odd.help, "A help text with a \\ and a \n.");
    assert.deepEqual(odd.series[0]!.labels, { path: "C:\\dir", quote: 'say "hi"', nl: "a\nb" });
    assert.equal(odd.series[0]!.value, Infinity);
    assert.ok(Number.isNaN(odd.series[1]!.value));
    assert.ok(Number.isNaN(odd.series[2]!.value));
    assert.equal(odd.series[3]!.value, -Infinity);
    assert.deepEqual(scrape.series("h", { m: "b" }), [
      { labels: { m: "b" }, value: 5, buckets: { "0.5": 0, "+Inf": 5 }, sum: 9 },
    ]);
    assert.equal(scrape.value("h"), 7);
    assert.equal(scrape.families.get("untyped_thing")?.type, "untyped");
    assert.throws(() => scrape.series("absent"), /absent is not exported/);
    assert.throws(() => new Scrape('bad{le="1" 2'), /line 1/);
    assert.throws(() => new Scrape("x one"), /bad value/);
    assert.throws(() => new Scrape("x +NaN"), /bad value/);
  });
});
