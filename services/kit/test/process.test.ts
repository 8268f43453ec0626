import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { createClient, GrpcError, Status } from "@lattice/kit";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { FIXTURE_NAME, fixtureMain, startServiceProcess } from "./support/service-process.js";

const greetAda = { name: "Ada", language: Language.LANGUAGE_ENGLISH };

describe("service process", () => {
  it("on SIGTERM: readiness fails, in-flight streams finish, new calls are refused after the drain, exit 0", async () => {
    const service = await startServiceProcess({ SHUTDOWN_DRAIN_MS: "600", SHUTDOWN_TIMEOUT_MS: "10000" });
    const client = createClient(GreeterServiceService, service.grpcAddress, { defaultTimeoutMs: 10_000 });
    try {
      // 8 greetings 150 ms apart: the stream outlives the drain window.
      const stream = client.listGreetings({ name: "Ada", count: 8, interval: { seconds: 0, nanos: 150_000_000 } });
      const received: number[] = [];
      let firstArrived!: () => void;
      const first = new Promise<void>((resolve) => (firstArrived = resolve));
      const consumed = (async () => {
        for await (const greeting of stream) {
          received.push(greeting.sequence);
          firstArrived();
        }
      })();
      await first;

      service.child.kill("SIGTERM");
      await service.logged("shutting down: not serving, draining");
      assert.equal((await fetch(`${service.adminUrl}/readyz`)).status, 503);
      assert.equal((await fetch(`${service.adminUrl}/livez`)).status, 200);
      // Within the drain window calls are still served: load balancers may not have noticed yet.
      assert.equal((await client.greet(greetAda)).message, "hi Ada");

      await service.logged("shutting down: refusing new calls, waiting for in-flight calls");
      const late = createClient(GreeterServiceService, service.grpcAddress, { defaultTimeoutMs: 2_000 });
      const refused = await late.greet(greetAda).catch((e: unknown) => e);
      late.close();
      assert.ok(refused instanceof GrpcError, "a call after the drain fails");
      assert.equal(refused.code, Status.UNAVAILABLE);

      await consumed;
      assert.deepEqual(received, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(await service.exited, 0);
    } finally {
      client.close();
      service.child.kill("SIGKILL");
    }
  });

  it("cancels calls still running at the shutdown timeout, then exits 0", async () => {
    const service = await startServiceProcess({ SHUTDOWN_DRAIN_MS: "0", SHUTDOWN_TIMEOUT_MS: "300" });
    const client = createClient(GreeterServiceService, service.grpcAddress);
    try {
      const stream = client.listGreetings({ name: "Ada", count: 100, interval: { seconds: 1, nanos: 0 } });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      service.child.kill("SIGTERM");
      const error = await iterator.next().catch((e: unknown) => e);
      assert.ok(error instanceof GrpcError, "the stream is cut");
      assert.ok([Status.UNAVAILABLE, Status.CANCELLED].includes(error.code), `got ${error.codeName}`);
      assert.equal(await service.exited, 0);
      assert.ok(
        service.logs.some((l) => l["msg"] === "shutting down: timeout reached, cancelling the calls still running"),
      );
    } finally {
      client.close();
      service.child.kill("SIGKILL");
    }
  });

  it("exits at once on a second signal", async () => {
    const service = await startServiceProcess({ SHUTDOWN_DRAIN_MS: "30000" });
    service.child.kill("SIGTERM");
    await service.logged("shutting down: not serving, draining");
    await sleep(50);
    service.child.kill("SIGINT");
    assert.equal(await service.exited, 1);
    assert.ok(service.logs.some((l) => l["msg"] === "second signal: exiting without waiting for calls to finish"));
  });

  it("refuses to start on a bad setting, naming it in one line", () => {
    const result = spawnSync(process.execPath, [fixtureMain], {
      env: { PATH: process.env["PATH"], GRPC_PORT: "fifty", SHUTDOWN_DRAIN_MS: "-5" },
      encoding: "utf8",
      timeout: 10_000,
    });
    assert.equal(result.status, 78);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, new RegExp(`^${FIXTURE_NAME}: invalid configuration: `));
    assert.match(lines[0]!, /GRPC_PORT: .*\(got "fifty"\)/);
    assert.match(lines[0]!, /SHUTDOWN_DRAIN_MS: .*\(got "-5"\)/);
    assert.equal(result.stdout, "");
  });
});
