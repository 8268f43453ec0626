import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrpcError, HealthService, ServingStatus, Status } from "@lattice/kit";
import { startTestService } from "@lattice/kit/testing";
import { greeterModule } from "../src/module.js";

const GREETER = "lattice.greeter.v1.GreeterService";

describe("health", () => {
  it("answers Check and List for the server, each service, readiness and liveness", async () => {
    await using service = await startTestService(greeterModule);
    const health = service.client(HealthService);
    for (const name of ["", GREETER, "readiness", "liveness"])
      assert.equal((await health.check({ service: name })).status, ServingStatus.SERVING, name);

    const unknown = await health.check({ service: "no.such.Service" }).catch((e: unknown) => e);
    assert.ok(unknown instanceof GrpcError);
    assert.equal(unknown.code, Status.NOT_FOUND);

    const { statuses } = await health.list({});
    assert.deepEqual(Object.keys(statuses).sort(), ["", GREETER, "liveness", "readiness"]);
  });

  it("turns NOT_SERVING on shutdown: Check, Watch and /readyz follow while /livez stays up", async () => {
    const service = await startTestService(greeterModule, { env: { SHUTDOWN_DRAIN_MS: "400" } });
    const health = service.client(HealthService);
    assert.equal((await fetch(`${service.adminUrl}/readyz`)).status, 200);

    const watched: ServingStatus[] = [];
    const watch = (async () => {
      for await (const { status } of health.watch({ service: "" })) watched.push(status);
    })().catch((e: unknown) => e);
    for await (const { status } of health.watch({ service: "not.Registered" })) {
      assert.equal(status, ServingStatus.SERVICE_UNKNOWN);
      break;
    }

    while (watched.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopped = service.shutdown();

    // During the drain window: still answering, but saying not to send traffic here.
    assert.equal((await health.check({ service: "" })).status, ServingStatus.NOT_SERVING);
    assert.equal((await health.check({ service: GREETER })).status, ServingStatus.NOT_SERVING);
    assert.equal((await health.check({ service: "liveness" })).status, ServingStatus.SERVING);
    const readyz = await fetch(`${service.adminUrl}/readyz`);
    assert.equal(readyz.status, 503);
    assert.equal(await readyz.text(), "not serving\n");
    assert.equal((await fetch(`${service.adminUrl}/livez`)).status, 200);

    await stopped;
    const ended = await watch;
    assert.deepEqual(watched, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    assert.ok(ended instanceof GrpcError && ended.code === Status.UNAVAILABLE, "the watch ends when the server stops");
  });

  it("serves metrics and 404s unknown admin paths", async () => {
    await using service = await startTestService(greeterModule);
    const metrics = await fetch(`${service.adminUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(
      await metrics.text(),
      /grpc_server_started_total\{grpc_type="bidi_stream".*grpc_method="ChatGreetings"\} 0/,
    );
    assert.equal((await fetch(`${service.adminUrl}/nope`)).status, 404);
  });
});
