import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrpcError, Status, type Interceptor } from "@lattice/kit";
import { grpcErrorOf, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule, type Greeter } from "./support/test-greeter.js";

/** A greeter whose Greet behaves as the test says and whose ListGreetings fails at its third message. */
function moduleWith(greet: Greeter["greet"]) {
  return greeterModule(
    {
      greet,
      async *listGreetings(request) {
        for (let i = 1; i <= request.count; i++) {
          if (i === 3) throw new Error("exploded at 3");
          yield { message: `m${i}`, language: Language.LANGUAGE_UNSPECIFIED, sequence: i };
        }
      },
    },
    { name: "chain-test" },
  );
}

describe("recovery", () => {
  for (const [kind, greet] of [
    [
      "thrown error",
      () => {
        throw new Error("db password is hunter2");
      },
    ],
    ["rejected promise", () => Promise.reject(new Error("db password is hunter2"))],
  ] as const) {
    it(`turns a ${kind} into INTERNAL with a safe message, logged once with its stack`, async () => {
      await using service = await startTestService(moduleWith(greet));
      const client = service.client(GreeterServiceService);
      const error = await grpcErrorOf(client.greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }));
      assert.equal(error.code, Status.INTERNAL);
      assert.equal(error.message, "internal error");
      assert.doesNotMatch(JSON.stringify(error.details), /hunter2/);

      const failures = service.logs.filter((line) => line.msg === "handler failed");
      assert.equal(failures.length, 1);
      const err = failures[0]!["err"] as { stack: string };
      assert.match(err.stack, /db password is hunter2\n\s+at /);
      const finished = service.logs.find((line) => line.msg === "finished call");
      assert.equal(finished?.["grpc.code"], "Internal");
      assert.equal(finished.level, 50);
    });
  }

  it("keeps the status of errors the service meant", async () => {
    await using service = await startTestService(
      moduleWith(() => {
        throw new GrpcError(Status.PERMISSION_DENIED, "not yours");
      }),
    );
    const error = await grpcErrorOf(
      service.client(GreeterServiceService).greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }),
    );
    assert.equal(error.code, Status.PERMISSION_DENIED);
    assert.equal(error.message, "not yours");
    assert.equal(service.logs.filter((line) => line.msg === "handler failed").length, 0);
  });

  it("ends a server stream that fails midway with INTERNAL after the messages already sent", async () => {
    await using service = await startTestService(
      moduleWith(() => ({ message: "", language: Language.LANGUAGE_UNSPECIFIED })),
    );
    const received: string[] = [];
    const error = await grpcErrorOf(
      (async () => {
        for await (const m of service.client(GreeterServiceService).listGreetings({ name: "x", count: 5 }))
          received.push(m.message);
      })(),
    );
    assert.deepEqual(received, ["m1", "m2"]);
    assert.equal(error.code, Status.INTERNAL);
  });
});

describe("interceptor chain", () => {
  it("runs added interceptors inside metrics, logging and recovery, with the method they wrap", async () => {
    const seen: string[] = [];
    const auth: Interceptor = (next, method) => async (input, ctx) => {
      seen.push(`${method.kind} ${method.path}`);
      if (ctx.requestHeader.get("authorization")[0] !== "Bearer good")
        throw new GrpcError(Status.UNAUTHENTICATED, "missing or bad token");
      return next(input, ctx);
    };
    await using service = await startTestService(
      moduleWith((request) => ({ message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED })),
      { interceptors: [auth] },
    );
    const client = service.client(GreeterServiceService);
    const denied = await grpcErrorOf(client.greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }));
    assert.equal(denied.code, Status.UNAUTHENTICATED);
    const ok = await client.greet(
      { name: "Ada", language: Language.LANGUAGE_UNSPECIFIED },
      { metadata: { authorization: "Bearer good" } },
    );
    assert.equal(ok.message, "hi Ada");
    assert.deepEqual(seen, [
      "unary /lattice.greeter.v1.GreeterService/Greet",
      "unary /lattice.greeter.v1.GreeterService/Greet",
    ]);

    const metrics = await (await fetch(`${service.adminUrl}/metrics`)).text();
    const labels = 'grpc_type="unary",grpc_service="lattice.greeter.v1.GreeterService",grpc_method="Greet"';
    assert.match(metrics, new RegExp(`grpc_server_started_total\\{${labels}\\} 2\\n`));
    assert.match(metrics, new RegExp(`grpc_server_handled_total\\{${labels},grpc_code="OK"\\} 1\\n`));
    assert.match(metrics, new RegExp(`grpc_server_handled_total\\{${labels},grpc_code="Unauthenticated"\\} 1\\n`));
    assert.match(metrics, new RegExp(`grpc_server_handling_seconds_count\\{${labels}\\} 2\\n`));
    assert.match(metrics, /process_cpu_user_seconds_total/);
  });

  it("treats an interceptor that throws instead of rejecting like one that rejects, on servers and clients", async () => {
    // Written without `async`: the throw happens while the chain runs, not in a promise.
    const refuse: Interceptor = () => () => {
      throw new GrpcError(Status.UNAUTHENTICATED, "no key");
    };
    await using service = await startTestService(
      moduleWith((request) => ({ message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED })),
      { interceptors: [refuse] },
    );
    const ada = { name: "Ada", language: Language.LANGUAGE_UNSPECIFIED };
    const refused = await grpcErrorOf(service.client(GreeterServiceService).greet(ada));
    assert.equal(refused.code, Status.UNAUTHENTICATED, "the client gets the interceptor's status");
    assert.equal(refused.message, "no key");
    const finished = service.logs.find((line) => line.msg === "finished call");
    assert.equal(finished?.["grpc.code"], "Unauthenticated", "the kit's logging around it saw the failure");

    const client = service.client(GreeterServiceService, { interceptors: [refuse] });
    let call: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (call = client.greet(ada)), "a client call returns a promise");
    assert.equal((await grpcErrorOf(call!)).message, "no key");
  });

  it("logs one line per call with code, duration and request id, and none for success when LOG_CALLS=off", async () => {
    const greet = () => ({ message: "hi", language: Language.LANGUAGE_UNSPECIFIED });
    await using service = await startTestService(moduleWith(greet));
    await service
      .client(GreeterServiceService)
      .greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }, { metadata: { "x-request-id": "r-1" } });
    const line = service.logs.find((l) => l.msg === "finished call");
    assert.equal(line?.["grpc.service"], "lattice.greeter.v1.GreeterService");
    assert.equal(line["grpc.method"], "Greet");
    assert.equal(line["grpc.method_type"], "unary");
    assert.equal(line["grpc.code"], "OK");
    assert.equal(line["request_id"], "r-1");
    assert.equal(typeof line["grpc.time_ms"], "number");

    await using quiet = await startTestService(moduleWith(greet), { env: { LOG_CALLS: "off" } });
    await quiet.client(GreeterServiceService).greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED });
    assert.equal(quiet.logs.filter((l) => l.msg === "finished call").length, 0);
  });
});
