import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createClient,
  GrpcError,
  HealthService,
  methods,
  selectMethods,
  Status,
  whenFinished,
  type Interceptor,
} from "@lattice/kit";
import { reflectionServices } from "@lattice/kit/internal";
import { collect, eventually, grpcErrorOf, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

/** Records the path of every call it sees, then hands it on. */
function recorder(seen: string[], label = ""): Interceptor {
  return (next, method) => (input, ctx) => {
    seen.push(`${label}${method.path}`);
    return next(input, ctx);
  };
}

describe("server interceptors added by a module", () => {
  it("run for every call, inside the kit's chain, in the order setup added them", async () => {
    const seen: string[] = [];
    const deny: Interceptor = (next) => async (input, ctx) => {
      if (ctx.requestHeader.get("x-deny").length > 0) throw new GrpcError(Status.PERMISSION_DENIED, "denied");
      return next(input, ctx);
    };
    const module = greeterModule(
      {},
      { setup: ({ server }) => void server.use(recorder(seen, "a "), recorder(seen, "b "), deny) },
    );
    await using service = await startTestService(module);
    const greeter = service.client(GreeterServiceService);
    await greeter.greet(ADA);
    assert.equal(
      (await grpcErrorOf(greeter.greet(ADA, { metadata: { "x-deny": "1" } }))).code,
      Status.PERMISSION_DENIED,
    );
    const path = GreeterServiceService.greet.path;
    assert.deepEqual(seen, [`a ${path}`, `b ${path}`, `a ${path}`, `b ${path}`]);
    // Inside metrics and logging: the denial is counted and logged with its code.
    const metrics = await (await fetch(`${service.adminUrl}/metrics`)).text();
    assert.match(metrics, /grpc_server_handled_total\{[^}]*grpc_method="Greet",grpc_code="PermissionDenied"\} 1/);
    assert.ok(service.logs.some((line) => line.msg === "finished call" && line["grpc.code"] === "PermissionDenied"));
  });

  it("are refused once the server listens", async () => {
    await using service = await startTestService(greeterModule());
    assert.throws(() => service.server.use(recorder([])), /before listen/);
  });
});

describe("selectMethods", () => {
  it("applies an interceptor to the chosen methods only, choosing once per method when the chain is built", async () => {
    const built: string[] = [];
    const seen: string[] = [];
    const counting: Interceptor = (next, method) => {
      built.push(method.name);
      return recorder(seen)(next, method);
    };
    const module = greeterModule(
      {},
      { setup: ({ server }) => void server.use(selectMethods(methods(GreeterServiceService.greet.path), counting)) },
    );
    await using service = await startTestService(module);
    const greeter = service.client(GreeterServiceService);
    await greeter.greet(ADA);
    await greeter.greet(ADA);
    await collect(greeter.listGreetings({ name: "Ada", count: 2 }));
    assert.deepEqual(built, ["Greet"], "built for Greet alone, once");
    assert.deepEqual(seen, [GreeterServiceService.greet.path, GreeterServiceService.greet.path]);
  });

  it("is how health and reflection skip request ids, metrics and logging while going through the chain", async () => {
    const seen: string[] = [];
    await using service = await startTestService(
      greeterModule({}, { setup: ({ server }) => void server.use(recorder(seen)) }),
    );
    const health = createClient(HealthService, service.grpcAddress);
    const [reflection] = reflectionServices([]);
    const reflect = createClient(reflection!.definition, service.grpcAddress) as unknown as Record<
      string,
      (requests: unknown[]) => AsyncIterable<{ listServicesResponse?: { service: { name: string }[] } }>
    >;
    try {
      assert.ok((await health.check({ service: "" })).status);
      const answers = await collect(reflect["ServerReflectionInfo"]!([{ host: "", listServices: "*" }]));
      const listed = answers[0]?.listServicesResponse?.service.map((s) => s.name) ?? [];
      assert.ok(listed.includes("lattice.greeter.v1.GreeterService"), `listed ${listed.join(", ")}`);

      // A module interceptor that selects nothing sees both, like any other call...
      assert.deepEqual(seen, [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ]);
      // ...while the kit's own request id, metrics and logging skip them.
      assert.deepEqual(
        service.logs.filter((line) => line.msg === "finished call"),
        [],
      );
      const metrics = await (await fetch(`${service.adminUrl}/metrics`)).text();
      assert.doesNotMatch(metrics, /grpc_service="grpc\.(health|reflection)/);
    } finally {
      health.close();
      (reflect as unknown as { close(): void }).close();
    }
  });
});

describe("client interceptors", () => {
  it("see the request, the call's headers and deadline, and the response with its headers and trailers", async () => {
    const module = greeterModule({
      greet(request, ctx) {
        ctx.responseHeader.set("x-served-by", "kit-test");
        ctx.responseTrailer.set("x-cost", "3");
        return {
          message: `hi ${request.name} (${String(ctx.requestHeader.get("x-tenant")[0])})`,
          language: Language.LANGUAGE_UNSPECIFIED,
        };
      },
    });
    await using service = await startTestService(module);
    const observed: Record<string, unknown> = {};
    const tenant: Interceptor = (next, method) => async (input, ctx) => {
      ctx.requestHeader.set("x-tenant", "acme");
      observed["request"] = input;
      observed["kind"] = `${ctx.side} ${method.kind}`;
      observed["hasDeadline"] = ctx.deadline !== undefined;
      const response = await next(input, ctx);
      observed["response"] = response;
      observed["servedBy"] = ctx.responseHeader.get("x-served-by")[0];
      observed["cost"] = ctx.responseTrailer.get("x-cost")[0];
      return response;
    };
    const greeter = service.client(GreeterServiceService, { interceptors: [tenant] });
    const answer = await greeter.greet(ADA, { timeoutMs: 5000 });
    assert.equal(answer.message, "hi Ada (acme)");
    assert.deepEqual(observed, {
      request: ADA,
      kind: "client unary",
      hasDeadline: true,
      response: answer,
      servedBy: "kit-test",
      cost: "3",
    });
  });

  it("see the error a call fails with, with the trailers the handler set before failing", async () => {
    const module = greeterModule({
      greet(_request, ctx) {
        ctx.responseTrailer.set("x-why", "quota");
        throw new GrpcError(Status.RESOURCE_EXHAUSTED, "slow down");
      },
    });
    await using service = await startTestService(module);
    let failure: unknown;
    const watch: Interceptor = (next) => async (input, ctx) => {
      try {
        return await next(input, ctx);
      } catch (error) {
        failure = error;
        throw error;
      }
    };
    const error = await grpcErrorOf(service.client(GreeterServiceService, { interceptors: [watch] }).greet(ADA));
    assert.equal(failure, error);
    assert.equal(error.code, Status.RESOURCE_EXHAUSTED);
    assert.deepEqual(error.metadata.get("x-why"), ["quota"]);
  });

  it("learn how a streamed call ends through whenFinished, once, on the client as on the server", async () => {
    const ends: string[] = [];
    const ending: (side: string) => Interceptor = (side) => (next, method) => (input, ctx) =>
      whenFinished(method, ctx, next(input, ctx), (error) =>
        ends.push(`${side} ${error instanceof GrpcError ? error.codeName : error === undefined ? "OK" : "other"}`),
      );
    await using service = await startTestService(
      greeterModule({}, { setup: ({ server }) => void server.use(ending("server")) }),
    );
    const greeter = service.client(GreeterServiceService, { interceptors: [ending("client")] });

    const all = await collect(greeter.listGreetings({ name: "Ada", count: 3 }));
    assert.equal(all.length, 3);
    await eventually(() => assert.equal(ends.length, 2));
    assert.deepEqual(ends.sort(), ["client OK", "server OK"]);

    ends.length = 0;
    for await (const greeting of greeter.listGreetings({ name: "Ada", count: 1000 }))
      if (greeting.sequence === 2) break;
    await eventually(() => assert.equal(ends.length, 2));
    assert.deepEqual(ends.sort(), ["client Canceled", "server Canceled"]);
    assert.equal(
      (await greeter.greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED })).message,
      "hi Ada",
      "the server still serves",
    );
  });
});
