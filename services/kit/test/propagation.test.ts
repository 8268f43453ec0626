import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient, Status, type CallContext } from "@lattice/kit";
import { collect, eventually, grpcErrorOf, startTestService, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

/** What the downstream service saw of the calls it received. */
interface Seen {
  deadline: Date | undefined;
  requestId: string | undefined;
  header: string | undefined;
  aborted: boolean;
}

/**
 * Two services: `front`'s Greet calls `back`'s Greet (plainly, no options: whatever reaches back got there by itself)
 * and ListGreetings streams after calling back. `back` records what it saw, and with `hang` waits until its call is
 * cancelled.
 */
async function twoServices(options: { hang?: boolean; frontCallOptions?: { timeoutMs?: number } } = {}) {
  const seen: Seen[] = [];
  const frontSaw: { deadline: Date | undefined; requestId: string | undefined }[] = [];
  const back = await startTestService(
    greeterModule(
      {
        async greet(request, ctx) {
          const entry: Seen = {
            deadline: ctx.deadline,
            requestId: ctx.requestId,
            header: ctx.requestHeader.get("x-request-id")[0] as string | undefined,
            aborted: false,
          };
          seen.push(entry);
          ctx.log.info("back handled a call");
          if (options.hang) {
            await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
            entry.aborted = true;
          }
          return { message: `back says hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED };
        },
      },
      { name: "back" },
    ),
  );
  const toBack = createClient(GreeterServiceService, back.grpcAddress);
  const record = (ctx: CallContext) => frontSaw.push({ deadline: ctx.deadline, requestId: ctx.requestId });
  const front = await startTestService(
    greeterModule(
      {
        async greet(request, ctx) {
          record(ctx);
          ctx.log.info("front calls back");
          return toBack.greet(request, options.frontCallOptions);
        },
        async *listGreetings(request, ctx) {
          record(ctx);
          yield { message: (await toBack.greet(ADA)).message, language: Language.LANGUAGE_UNSPECIFIED, sequence: 1 };
          for (let sequence = 2; sequence <= request.count; sequence++) {
            await sleep(20, undefined, { signal: ctx.signal });
            yield { message: "again", language: Language.LANGUAGE_UNSPECIFIED, sequence };
          }
        },
      },
      { name: "front" },
    ),
  );
  const services: TestService[] = [front, back];
  return {
    seen,
    frontSaw,
    front,
    back,
    client: front.client(GreeterServiceService),
    async [Symbol.asyncDispose]() {
      toBack.close();
      for (const service of services) await service.shutdown();
    },
  };
}

describe("deadline propagation", () => {
  it("a call made while handling one inherits its remaining deadline", async () => {
    await using services = await twoServices();
    await services.client.greet(ADA, { timeoutMs: 4000 });
    const [frontDeadline, backDeadline] = [services.frontSaw[0]!.deadline, services.seen[0]!.deadline];
    assert.ok(frontDeadline && backDeadline, "both ends have a deadline");
    // The downstream deadline is the caller's, as grpc-timeout carries it again (millisecond resolution, sent later).
    assert.ok(backDeadline.getTime() <= frontDeadline.getTime() + 5, "not later than the caller's");
    assert.ok(backDeadline.getTime() > frontDeadline.getTime() - 1000, "not much earlier either");
  });

  it("the earlier of the call's own deadline and the inherited one wins", async () => {
    await using services = await twoServices({ frontCallOptions: { timeoutMs: 300 } });
    const started = Date.now();
    await services.client.greet(ADA, { timeoutMs: 30_000 });
    const backDeadline = services.seen[0]!.deadline!.getTime();
    assert.ok(backDeadline - started < 1000, `the 300 ms of the inner call apply (got ${backDeadline - started} ms)`);
  });

  it("a downstream call that outlives the caller's deadline ends with it", async () => {
    await using services = await twoServices({ hang: true });
    const started = Date.now();
    const error = await grpcErrorOf(services.client.greet(ADA, { timeoutMs: 400 }));
    assert.equal(error.code, Status.DEADLINE_EXCEEDED);
    await eventually(() => assert.equal(services.seen[0]?.aborted, true, "the downstream call was ended"));
    assert.ok(Date.now() - started < 3000);
  });

  it("calls made outside any call get only their own deadline", async () => {
    await using services = await twoServices();
    const direct = createClient(GreeterServiceService, services.back.grpcAddress);
    try {
      await direct.greet(ADA);
      assert.equal(services.seen[0]!.deadline, undefined);
    } finally {
      direct.close();
    }
  });
});

describe("cancellation propagation", () => {
  it("cancelling a call cancels the calls its handler is making", async () => {
    await using services = await twoServices({ hang: true });
    const controller = new AbortController();
    const call = grpcErrorOf(services.client.greet(ADA, { signal: controller.signal }));
    await eventually(() => assert.equal(services.seen.length, 1));
    controller.abort();
    assert.equal((await call).code, Status.CANCELLED);
    await eventually(() => assert.equal(services.seen[0]!.aborted, true, "the downstream call was cancelled too"));
  });

  it("also from inside a server stream", async () => {
    await using services = await twoServices({ hang: true });
    const controller = new AbortController();
    const stream = grpcErrorOf(
      collect(services.client.listGreetings({ name: "Ada", count: 3 }, { signal: controller.signal })),
    );
    await eventually(() => assert.equal(services.seen.length, 1));
    controller.abort();
    assert.equal((await stream).code, Status.CANCELLED);
    await eventually(() => assert.equal(services.seen[0]!.aborted, true, "the downstream call was cancelled too"));
  });
});

describe("request id", () => {
  it("is made at the edge when the caller sends none, logged there, and forwarded with the calls made on", async () => {
    await using services = await twoServices();
    await services.client.greet(ADA);
    const id = services.frontSaw[0]!.requestId!;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(services.seen[0]!.header, id, "forwarded downstream");
    assert.equal(services.seen[0]!.requestId, id);
    for (const [service, message] of [
      [services.front, "front calls back"],
      [services.back, "back handled a call"],
    ] as const)
      assert.equal(service.logs.find((line) => line.msg === message)?.["request_id"], id);
  });

  it("keeps a usable id the caller sent, and replaces one that is not", async () => {
    await using services = await twoServices();
    await services.client.greet(ADA, { metadata: { "x-request-id": "req-7f3a" } });
    assert.equal(services.seen[0]!.requestId, "req-7f3a");
    for (const bad of ["x".repeat(200), "has space"]) {
      await services.client.greet(ADA, { metadata: { "x-request-id": bad } });
      assert.notEqual(services.seen.at(-1)!.requestId, bad);
      assert.match(services.seen.at(-1)!.requestId!, /^[0-9a-f-]{36}$/);
    }
  });

  it("is forwarded from streams as from unary calls", async () => {
    await using services = await twoServices();
    await collect(services.client.listGreetings({ name: "Ada", count: 1 }, { metadata: { "x-request-id": "s-1" } }));
    assert.equal(services.seen[0]!.requestId, "s-1");
  });
});
