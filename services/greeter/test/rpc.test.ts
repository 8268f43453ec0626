import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Status } from "@lattice/kit";
import { collect, eventually, grpcErrorOf as failure, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "../src/module.js";

// Serving over a unix socket is the kit's, tested in services/kit/test/transport.test.ts.
describe("greeter over loopback TCP", () => {
  it("answers all four kinds of call", async () => {
    await using service = await startTestService(greeterModule);
    const greeter = service.client(GreeterServiceService, { defaultTimeoutMs: 5_000 });

    assert.deepEqual(await greeter.greet({ name: "Ada", language: Language.LANGUAGE_FRENCH }), {
      message: "Bonjour, Ada !",
      language: Language.LANGUAGE_FRENCH,
    });

    const listed = await collect(greeter.listGreetings({ name: "Ada", count: 5 }));
    assert.deepEqual(
      listed.map((g) => [g.sequence, g.message]),
      [
        [1, "Hello, Ada!"],
        [2, "Bonjour, Ada !"],
        [3, "¡Hola, Ada!"],
        [4, "Hallo, Ada!"],
        [5, "こんにちは、Adaさん！"],
      ],
    );

    const summary = await greeter.recordGreetings(["Ada", "Grace", "Ada", "Linus"].map((name) => ({ name })));
    assert.deepEqual(summary, { count: 4, distinctCount: 3, message: "Hello, Ada, Grace and Linus!" });

    const replies = await collect(
      greeter.chatGreetings([
        { name: "Ada", language: Language.LANGUAGE_JAPANESE },
        { name: "Grace", language: Language.LANGUAGE_UNSPECIFIED },
      ]),
    );
    assert.deepEqual(replies, [
      { message: "こんにちは、Adaさん！", language: Language.LANGUAGE_JAPANESE },
      { message: "Hello, Grace!", language: Language.LANGUAGE_ENGLISH },
    ]);
  });
});

describe("greeter errors", () => {
  it("answers an empty or oversize name with INVALID_ARGUMENT and a BadRequest field violation", async () => {
    await using service = await startTestService(greeterModule);
    const greeter = service.client(GreeterServiceService);
    for (const [name, description] of [
      ["", "must not be empty"],
      ["x".repeat(101), "must be at most 100 characters"],
    ] as const) {
      const error = await failure(greeter.greet({ name, language: Language.LANGUAGE_UNSPECIFIED }));
      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.deepEqual(
        error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.description]),
        [["name", description]],
      );
    }
    // Characters, not UTF-16 units: 100 emoji are 200 units and still a valid name.
    const emoji = "😀".repeat(100);
    assert.equal(
      (await greeter.greet({ name: emoji, language: Language.LANGUAGE_UNSPECIFIED })).message,
      `Hello, ${emoji}!`,
    );
  });

  it("says which message of a RecordGreetings stream was bad", async () => {
    await using service = await startTestService(greeterModule);
    const error = await failure(
      service.client(GreeterServiceService).recordGreetings([{ name: "Ada" }, { name: " " }]),
    );
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.deepEqual(
      error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.description]),
      [["name", "message 2: must not be empty"]],
    );
  });

  it("rejects a language number the contract does not define", async () => {
    await using service = await startTestService(greeterModule);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- a newer client's value, on purpose
    const error = await failure(service.client(GreeterServiceService).greet({ name: "Ada", language: 42 as Language }));
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.equal(error.detail("BadRequest")?.fieldViolations[0]?.field, "language");
  });

  it("rejects a bad ListGreetings request before sending any message", async () => {
    await using service = await startTestService(greeterModule);
    const received: unknown[] = [];
    const error = await failure(
      (async () => {
        const stream = service.client(GreeterServiceService).listGreetings({
          name: "Ada",
          count: 2_000_000,
          interval: { seconds: -1, nanos: 0 },
        });
        for await (const m of stream) received.push(m);
      })(),
    );
    assert.equal(received.length, 0);
    assert.deepEqual(
      error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.description]),
      [
        ["count", "must be greater than or equal to 1 and less than or equal to 1000000"],
        ["interval", "must be greater than or equal to 0s and less than or equal to 10s"],
      ],
    );
  });

  it("fails a chat at the first bad message, after answering the good ones", async () => {
    await using service = await startTestService(greeterModule);
    const replies: string[] = [];
    const error = await failure(
      (async () => {
        const chat = service.client(GreeterServiceService).chatGreetings([
          { name: "Ada", language: Language.LANGUAGE_UNSPECIFIED },
          { name: "  ", language: Language.LANGUAGE_UNSPECIFIED },
          { name: "Grace", language: Language.LANGUAGE_UNSPECIFIED },
        ]);
        for await (const reply of chat) replies.push(reply.message);
      })(),
    );
    assert.deepEqual(replies, ["Hello, Ada!"]);
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.equal(error.detail("BadRequest")?.fieldViolations[0]?.description, "message 2: must not be empty");
  });
});

describe("greeter streams", () => {
  it("ends ListGreetings' pause between greetings as soon as the caller cancels", async () => {
    await using service = await startTestService(greeterModule);
    const controller = new AbortController();
    const error = await failure(
      (async () => {
        const stream = service
          .client(GreeterServiceService)
          .listGreetings({ name: "Ada", count: 3, interval: { seconds: 10, nanos: 0 } }, { signal: controller.signal });
        for await (const _ of stream) controller.abort();
      })(),
    );
    assert.equal(error.code, Status.CANCELLED);
    // The handler hands the call's signal to the rules, so the server ends the call now rather than after the pause.
    const finished = await eventually(
      () => {
        const line = service.logs.find((l) => l.msg === "finished call" && l["grpc.method"] === "ListGreetings");
        assert.ok(line, "the server has not finished ListGreetings");
        return line;
      },
      { withinMs: 2000 },
    );
    assert.equal(finished["grpc.code"], "Canceled");
  });
});
