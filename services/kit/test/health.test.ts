import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient, GrpcError, HealthService, ServingStatus, Status } from "@lattice/kit";
import { eventually, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "./support/test-greeter.js";

const GREETER = "lattice.greeter.v1.GreeterService";

describe("health", () => {
  it("answers Check and List for the server, each service, readiness and liveness", async () => {
    await using service = await startTestService(greeterModule());
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
    const service = await startTestService(greeterModule(), { env: { SHUTDOWN_DRAIN_MS: "400" } });
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

    await eventually(() => assert.ok(watched.length > 0, "the watch has not answered yet"));
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
    await using service = await startTestService(greeterModule());
    const metrics = await fetch(`${service.adminUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(
      await metrics.text(),
      /grpc_server_started_total\{grpc_type="bidi_stream".*grpc_method="ChatGreetings"\} 0/,
    );
    assert.equal((await fetch(`${service.adminUrl}/nope`)).status, 404);
  });

  it("serves Health alone on the plaintext health port, with the same statuses through the drain", async () => {
    const service = await startTestService(greeterModule(), { env: { SHUTDOWN_DRAIN_MS: "400" } });
    const health = createClient(HealthService, service.healthAddress);
    const greeter = createClient(GreeterServiceService, service.healthAddress);
    try {
      assert.notEqual(service.healthAddress, service.grpcAddress);
      assert.equal((await health.check({ service: "readiness" })).status, ServingStatus.SERVING);
      assert.equal((await health.check({ service: GREETER })).status, ServingStatus.SERVING);
      const other = await greeter.greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).catch((e: unknown) => e);
      assert.ok(other instanceof GrpcError && other.code === Status.UNIMPLEMENTED, "only Health is served there");

      const stopped = service.shutdown();
      assert.equal((await health.check({ service: "readiness" })).status, ServingStatus.NOT_SERVING);
      assert.equal((await health.check({ service: "liveness" })).status, ServingStatus.SERVING);
      await stopped;
      const after = await health.check({ service: "liveness" }, { timeoutMs: 1_000 }).catch((e: unknown) => e);
      assert.ok(after instanceof GrpcError, "the health port closes once the service has stopped");
    } finally {
      health.close();
      greeter.close();
      await service.shutdown();
    }
  });
});

const healthProbe = fileURLToPath(new URL("../src/bin/health-probe.js", import.meta.url));

function runProbe(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [healthProbe, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

describe("health-probe command", () => {
  it("exits 0 when SERVING, 4 while draining, 3 for an unknown service, 2 when unreachable, 1 on bad arguments", async () => {
    const service = await startTestService(greeterModule(), { env: { SHUTDOWN_DRAIN_MS: "1500" } });
    try {
      const addr = `--addr=${service.healthAddress}`;
      const serving = await runProbe(addr, "--service=readiness");
      assert.deepEqual([serving.code, serving.stdout], [0, "status: SERVING\n"]);
      assert.equal((await runProbe(addr, "--service=no.such.Service")).code, 3);

      const stopped = service.shutdown();
      const draining = await runProbe(addr, "--service=readiness");
      assert.equal(draining.code, 4);
      assert.match(draining.stderr, /"readiness" is NOT_SERVING/);
      assert.equal((await runProbe(addr, "--service=liveness")).code, 0, "liveness passes while draining");
      await stopped;

      const unreachable = await runProbe(`--addr=127.0.0.1:${await closedPort()}`, "--timeout=500ms");
      assert.equal(unreachable.code, 2);
      assert.match(unreachable.stderr, /UNAVAILABLE|DEADLINE_EXCEEDED/);
      const bad = await runProbe("--timeout=soon");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /usage: health-probe/);
    } finally {
      await service.shutdown();
    }
  });
});
