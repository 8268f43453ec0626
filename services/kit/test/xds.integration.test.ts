import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { createClient, GrpcError, Status, type ServiceClient } from "@lattice/kit";
import { eventually, startTestService, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";
import { bootstrapFor, startControlPlane, type ControlPlane } from "./support/xds-control-plane.js";

/** A replica whose Greet says who answered; `mode` makes it slow or failing. */
interface Replica {
  readonly service: TestService;
  readonly name: string;
  readonly port: number;
  calls: number;
  /** When it last answered (ms since the epoch). */
  lastCallAt: number;
  mode: "ok" | "slow" | "fail-once";
}

async function replica(name: string): Promise<Replica> {
  const state = { calls: 0, lastCallAt: 0, mode: "ok" as Replica["mode"], failed: new Set<string>() };
  const service = await startTestService(
    greeterModule({
      async greet(request, ctx) {
        state.calls++;
        state.lastCallAt = Date.now();
        if (state.mode === "slow") await sleep(2000, undefined, { signal: ctx.signal }).catch(() => undefined);
        if (state.mode === "fail-once" && !state.failed.has(request.name)) {
          state.failed.add(request.name);
          throw new GrpcError(Status.UNAVAILABLE, `${name} is restarting`);
        }
        return { message: name, language: Language.LANGUAGE_UNSPECIFIED };
      },
    }),
  );
  const port = Number(service.grpcAddress.split(":").at(-1));
  return Object.assign(state, { service, name, port });
}

const endpointOf = (r: Replica) => ({ address: "127.0.0.1", port: r.port });

describe("xDS discovery against the repository's control plane", () => {
  let controlPlane: ControlPlane;
  let a: Replica;
  let b: Replica;
  let client: ServiceClient<typeof GreeterServiceService>;

  before(async () => {
    controlPlane = await startControlPlane();
    // grpc-js-xds reads its bootstrap once per process, when the first xds channel is made.
    process.env["GRPC_XDS_BOOTSTRAP_CONFIG"] = bootstrapFor(controlPlane.xdsAddress);
    [a, b] = await Promise.all([replica("a"), replica("b")]);
    await controlPlane.put("greeter", { endpoints: [endpointOf(a), endpointOf(b)] });
    client = createClient(GreeterServiceService, "xds:///greeter");
  });

  after(async () => {
    client.close();
    await Promise.all([a.service.shutdown(), b.service.shutdown()]);
    await controlPlane.stop();
  });

  it("spreads calls over every replica the control plane lists", async () => {
    a.calls = b.calls = 0;
    const answers = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const { message } = await client.greet(ADA, { timeoutMs: 5000 });
      answers.set(message, (answers.get(message) ?? 0) + 1);
    }
    assert.ok((answers.get("a") ?? 0) >= 30 && (answers.get("b") ?? 0) >= 30, JSON.stringify([...answers]));
  });

  it("moves traffic off a removed endpoint without failing a call", async (t) => {
    const failures: unknown[] = [];
    let stop = false;
    let calls = 0;
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        calls++;
        await client.greet(ADA, { timeoutMs: 5000 }).catch((error: unknown) => failures.push(error));
      }
    });
    await sleep(300);
    const removed = Date.now();
    await controlPlane.put("greeter", { endpoints: [endpointOf(a)] });
    // Once b gets nothing for half a second, traffic has moved.
    let last = b.calls;
    await eventually(
      async () => {
        await sleep(500);
        const now = b.calls;
        const moved = now === last;
        last = now;
        assert.ok(moved, "b still gets calls");
      },
      { withinMs: 10_000 },
    );
    const movedAfterMs = Math.max(0, b.lastCallAt - removed);
    await sleep(300);
    stop = true;
    await Promise.all(load);
    assert.deepEqual(failures, [], `${failures.length} of ${calls} calls failed`);
    assert.ok(movedAfterMs < 5000, `traffic moved within ${movedAfterMs} ms`);
    t.diagnostic(
      `${calls} calls, ${failures.length} failed; the removed endpoint's last call ${movedAfterMs} ms after the change`,
    );
    await controlPlane.put("greeter", { endpoints: [endpointOf(a), endpointOf(b)] });
  });

  it("applies a route timeout pushed over xDS: a slow replica's calls end at it", async (t) => {
    b.mode = "slow";
    await controlPlane.put("greeter", { endpoints: [endpointOf(b)], timeoutMs: 300 });
    try {
      await eventually(
        async () => {
          const started = Date.now();
          const error = await client.greet(ADA, { timeoutMs: 5000 }).then(
            () => undefined,
            (e: unknown) => e,
          );
          const tookMs = Date.now() - started;
          assert.ok(error instanceof GrpcError && error.code === Status.DEADLINE_EXCEEDED, String(error));
          assert.ok(tookMs < 4000, `ended after ${tookMs} ms, at the pushed 300 ms, not the call's 5 s`);
          t.diagnostic(`a call with a 5 s deadline ended DEADLINE_EXCEEDED after ${tookMs} ms (pushed timeout 300 ms)`);
        },
        { withinMs: 10_000 },
      );
    } finally {
      b.mode = "ok";
    }
  });

  it("applies a retry policy pushed over xDS: a failing attempt is retried", async () => {
    a.mode = "fail-once";
    try {
      await controlPlane.put("greeter", { endpoints: [endpointOf(a)] });
      await eventually(async () => {
        const error = await client.greet({ name: "no-retry", language: Language.LANGUAGE_UNSPECIFIED }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof GrpcError && error.code === Status.UNAVAILABLE, "fails without a retry policy");
      });
      await controlPlane.put("greeter", {
        endpoints: [endpointOf(a)],
        retry: { retryOn: ["unavailable"], numRetries: 2, baseIntervalMs: 10 },
      });
      let n = 0;
      await eventually(
        async () => {
          const before = a.calls;
          const answer = await client.greet({ name: `with-retry-${++n}`, language: Language.LANGUAGE_UNSPECIFIED });
          assert.equal(answer.message, "a");
          assert.equal(a.calls - before, 2, "the first attempt failed and the retry answered");
        },
        { withinMs: 10_000 },
      );
    } finally {
      a.mode = "ok";
    }
  });
});
