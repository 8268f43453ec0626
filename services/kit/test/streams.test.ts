import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { GrpcError, Status } from "@lattice/kit";
import { eventually, grpcErrorOf, startTestService, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "./support/test-greeter.js";

/** Waits until the server has logged the end of a call to `method`, and returns that line. */
function finishedCall(service: TestService, method: string, withinMs = 2000) {
  return eventually(
    () => {
      const line = service.logs.find((l) => l.msg === "finished call" && l["grpc.method"] === method);
      assert.ok(line, `the server did not finish ${method} within ${withinMs} ms`);
      return line;
    },
    { withinMs },
  );
}

const slowList = { name: "Ada", count: 100, interval: { seconds: 0, nanos: 100_000_000 } };

describe("ListGreetings ends when the caller goes", () => {
  it("stops on client cancellation, and the server sees CANCELLED", async () => {
    await using service = await startTestService(greeterModule());
    const controller = new AbortController();
    const received: number[] = [];
    const started = Date.now();
    const error = await grpcErrorOf(
      (async () => {
        for await (const greeting of service
          .client(GreeterServiceService)
          .listGreetings(slowList, { signal: controller.signal })) {
          received.push(greeting.sequence);
          if (received.length === 2) controller.abort();
        }
      })(),
    );
    assert.equal(error.code, Status.CANCELLED);
    assert.deepEqual(received, [1, 2]);

    const line = await finishedCall(service, "ListGreetings");
    assert.equal(line["grpc.code"], "Canceled");
    // The server stopped at once instead of pausing through the remaining 98 intervals.
    assert.ok(Date.now() - started < 2000);
  });

  it("stops at the deadline, and both sides see DEADLINE_EXCEEDED", async () => {
    await using service = await startTestService(greeterModule());
    const received: number[] = [];
    const error = await grpcErrorOf(
      (async () => {
        for await (const greeting of service.client(GreeterServiceService).listGreetings(slowList, { timeoutMs: 350 }))
          received.push(greeting.sequence);
      })(),
    );
    assert.equal(error.code, Status.DEADLINE_EXCEEDED);
    assert.ok(received.length >= 2 && received.length <= 5, `received ${received.length} before the deadline`);

    const line = await finishedCall(service, "ListGreetings");
    assert.equal(line["grpc.code"], "DeadlineExceeded");
    assert.ok((line["grpc.time_ms"] as number) < 1000);
  });

  it("stops a chat when the client cancels mid-conversation", async () => {
    await using service = await startTestService(greeterModule());
    const controller = new AbortController();
    async function* names() {
      yield { name: "Ada", language: 0 as const };
      await sleep(60_000, undefined, { signal: controller.signal }).catch(() => undefined);
    }
    const replies: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const reply of service
          .client(GreeterServiceService)
          .chatGreetings(names(), { signal: controller.signal })) {
          replies.push(reply.message);
          controller.abort();
        }
      })(),
      (e: unknown) => e instanceof GrpcError && e.code === Status.CANCELLED,
    );
    assert.deepEqual(replies, ["Ada"]);
    assert.equal((await finishedCall(service, "ChatGreetings"))["grpc.code"], "Canceled");
  });
});
