import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContextKey, ContextValues, GrpcError, Status, whenFinished, type Interceptor } from "@lattice/kit";
import { collect, grpcErrorOf, startTestService } from "@lattice/kit/testing";
import { Metadata } from "@grpc/grpc-js";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

interface Principal {
  readonly subject: string;
  readonly roles: readonly string[];
}
const PRINCIPAL = createContextKey<Principal | undefined>("principal", undefined);
const ATTEMPT = createContextKey("attempt", 1);

describe("typed context values", () => {
  it("give back what was set, typed, or the key's default; keys are distinct objects", () => {
    const values = new ContextValues();
    assert.equal(values.get(PRINCIPAL), undefined);
    assert.equal(values.get(ATTEMPT), 1);
    values.set(PRINCIPAL, { subject: "ada", roles: ["admin"] }).set(ATTEMPT, 2);
    assert.deepEqual(values.get(PRINCIPAL)?.roles, ["admin"]);
    assert.equal(values.get(ATTEMPT), 2);
    assert.equal(values.get(createContextKey("attempt", 9)), 9, "same description, another key");
    values.delete(ATTEMPT);
    assert.equal(values.has(ATTEMPT), false);
  });

  it("carry what an interceptor found to the handler of the same call", async () => {
    const authenticate: Interceptor = (next) => (input, ctx) => {
      const subject = ctx.requestHeader.get("x-user")[0];
      if (typeof subject === "string") ctx.values.set(PRINCIPAL, { subject, roles: [] });
      return next(input, ctx);
    };
    const module = greeterModule(
      {
        greet: (_request, ctx) => ({
          message: `hello ${ctx.values.get(PRINCIPAL)?.subject ?? "stranger"}`,
          language: Language.LANGUAGE_UNSPECIFIED,
        }),
      },
      { setup: ({ server }) => void server.use(authenticate) },
    );
    await using service = await startTestService(module);
    const greeter = service.client(GreeterServiceService);
    assert.equal((await greeter.greet(ADA, { metadata: { "x-user": "grace" } })).message, "hello grace");
    assert.equal((await greeter.greet(ADA)).message, "hello stranger", "values do not leak between calls");
  });
});

describe("response headers and trailers set by handlers", () => {
  /** Keeps the response headers and trailers the client received, once the call (or its stream) has ended. */
  const capture =
    (into: { header?: Metadata; trailer?: Metadata }): Interceptor =>
    (next, method) =>
    (input, ctx) =>
      whenFinished(method, ctx, next(input, ctx), () => {
        into.header = ctx.responseHeader;
        into.trailer = ctx.responseTrailer;
      });

  it("reach the client on unary calls and streams, with the messages", async () => {
    const module = greeterModule({
      greet(_request, ctx) {
        ctx.responseHeader.set("x-region", "eu-1");
        ctx.responseTrailer.set("x-cost-units", "2");
        return { message: "hi", language: Language.LANGUAGE_UNSPECIFIED };
      },
      async *listGreetings(request, ctx) {
        ctx.responseHeader.set("x-region", "eu-2");
        for (let sequence = 1; sequence <= request.count; sequence++)
          yield { message: "m", language: Language.LANGUAGE_UNSPECIFIED, sequence };
        ctx.responseTrailer.set("x-sent", String(request.count));
      },
    });
    await using service = await startTestService(module);
    const unary: { header?: Metadata; trailer?: Metadata } = {};
    await service.client(GreeterServiceService, { interceptors: [capture(unary)] }).greet(ADA);
    assert.deepEqual(unary.header?.get("x-region"), ["eu-1"]);
    assert.deepEqual(unary.trailer?.get("x-cost-units"), ["2"]);

    const streamed: { header?: Metadata; trailer?: Metadata } = {};
    const messages = await collect(
      service
        .client(GreeterServiceService, { interceptors: [capture(streamed)] })
        .listGreetings({ name: "x", count: 3 }),
    );
    assert.equal(messages.length, 3);
    assert.deepEqual(streamed.header?.get("x-region"), ["eu-2"]);
    assert.deepEqual(streamed.trailer?.get("x-sent"), ["3"]);
  });

  it("reach the client when the call fails, beside the error's own metadata and details", async () => {
    const module = greeterModule({
      greet(_request, ctx) {
        ctx.responseHeader.set("x-region", "eu-1");
        ctx.responseTrailer.set("x-attempt", "1");
        const metadata = new Metadata();
        metadata.set("x-quota", "greetings");
        throw new GrpcError(Status.RESOURCE_EXHAUSTED, "quota used", [], { metadata });
      },
      async *listGreetings(_request, ctx) {
        yield { message: "first", language: Language.LANGUAGE_UNSPECIFIED, sequence: 1 };
        ctx.responseTrailer.set("x-failed-after", "1");
        throw new GrpcError(Status.ABORTED, "conflict");
      },
    });
    await using service = await startTestService(module);
    const unary: { header?: Metadata } = {};
    const error = await grpcErrorOf(
      service.client(GreeterServiceService, { interceptors: [capture(unary)] }).greet(ADA),
    );
    assert.equal(error.code, Status.RESOURCE_EXHAUSTED);
    assert.deepEqual(error.metadata.get("x-quota"), ["greetings"]);
    assert.deepEqual(error.metadata.get("x-attempt"), ["1"]);
    assert.deepEqual(unary.header?.get("x-region"), ["eu-1"], "headers set before failing are sent");

    const failed = await grpcErrorOf(
      collect(service.client(GreeterServiceService).listGreetings({ name: "x", count: 2 })),
    );
    assert.equal(failed.code, Status.ABORTED);
    assert.deepEqual(failed.metadata.get("x-failed-after"), ["1"]);
  });
});

describe("a call's signal", () => {
  it("does not abort once the call has ended normally, for unary calls and streams", async () => {
    const seen: { cancelled: () => boolean; aborted: boolean }[] = [];
    const watch = (ctx: { signal: AbortSignal; cancelled: boolean }) => {
      const entry = { cancelled: () => ctx.cancelled, aborted: false };
      ctx.signal.addEventListener("abort", () => (entry.aborted = true));
      seen.push(entry);
    };
    await using service = await startTestService(
      greeterModule({
        greet(_request, ctx) {
          watch(ctx);
          return { message: "hi", language: Language.LANGUAGE_UNSPECIFIED };
        },
        async *listGreetings(_request, ctx) {
          watch(ctx);
          yield { message: "m", language: Language.LANGUAGE_UNSPECIFIED, sequence: 1 };
        },
      }),
    );
    const greeter = service.client(GreeterServiceService);
    await greeter.greet(ADA);
    await collect(greeter.listGreetings({ name: "Ada", count: 1 }));
    // grpc-js reports a closed stream as cancelled a moment after the status; give it time to.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      seen.map((entry) => [entry.aborted, entry.cancelled()]),
      [
        [false, false],
        [false, false],
      ],
    );
  });
});
