import { setTimeout as sleep } from "node:timers/promises";
import { createClient, defineService, GrpcError, remainingMs, Status, type CallContext } from "@lattice/kit";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { unimplementedGreeter } from "../shared/greeter.js";
import { startLocal } from "../shared/local.js";

const greeter = ["lattice.greeter.v1.GreeterService"];
const WORK_MS = 1000;

/** What a handler knows of its deadline: how long it has left, or that it has none. */
const timeLeft = (ctx: CallContext) => (ctx.deadline ? `${remainingMs(ctx.deadline)} ms left` : "no deadline");

// Resolved when back learns that a call it is working on was cancelled, so the output comes out in a fixed order.
let reportCancelled = () => {};
const backCancelled = new Promise<void>((resolve) => (reportCancelled = resolve));

/** Takes WORK_MS to greet, and stops as soon as its call is cancelled or runs out of time. */
const backModule = defineService({
  declaration: {
    name: "back",
    directory: import.meta.dirname,
    grpcServices: greeter,
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
  },
  setup({ server }) {
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      async greet(request, ctx) {
        console.log(`[back]   ${timeLeft(ctx)}; works for ${WORK_MS} ms`);
        const started = Date.now();
        try {
          await sleep(WORK_MS, undefined, { signal: ctx.signal });
        } catch (error) {
          console.log(`[back]   cancelled after ${Date.now() - started} ms: stops working on it`);
          reportCancelled();
          throw error;
        }
        return { message: `Hello, ${request.name}!`, language: Language.LANGUAGE_ENGLISH };
      },
    });
  },
});

/** Calls back with no options at all: no deadline, no signal. */
const frontModule = defineService({
  declaration: {
    name: "front",
    directory: import.meta.dirname,
    grpcServices: greeter,
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: ["back"],
  },
  setup({ server, connect }) {
    const back = connect(GreeterServiceService, "back");
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      greet(request, ctx) {
        console.log(`[front]  ${timeLeft(ctx)}; calls back with no options`);
        return back.greet(request);
      },
    });
  },
});

const back = await startLocal(backModule);
const front = await startLocal(frontModule, { BACK_SERVICE_ADDRESS: back.grpcAddress });
const client = createClient(GreeterServiceService, front.grpcAddress);
const ada = { name: "Ada", language: Language.LANGUAGE_ENGLISH };
try {
  console.log("[caller] Greet through front, with a deadline 3000 ms away");
  console.log(`[caller] answer: ${(await client.greet(ada, { timeoutMs: 3000 })).message}`);

  console.log("[caller] Greet through front again, giving up after 100 ms");
  const error = await client.greet(ada, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
  console.log(`[caller] gave up: ${error instanceof GrpcError ? Status[error.code] : String(error)}`);
  await backCancelled;
} finally {
  client.close();
  await front.shutdown();
  await back.shutdown();
}
