import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collect, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "./support/test-greeter.js";

describe("serving over a unix socket", () => {
  it("answers all four kinds of call", async () => {
    await using service = await startTestService(greeterModule(), { unixSocket: true });
    assert.match(service.grpcAddress, /^unix:/);
    const greeter = service.client(GreeterServiceService, { defaultTimeoutMs: 5_000 });

    assert.deepEqual(await greeter.greet({ name: "Ada", language: Language.LANGUAGE_FRENCH }), {
      message: "hi Ada",
      language: Language.LANGUAGE_UNSPECIFIED,
    });

    const listed = await collect(greeter.listGreetings({ name: "Ada", count: 5 }));
    assert.deepEqual(
      listed.map((g) => [g.sequence, g.message]),
      [
        [1, "m1"],
        [2, "m2"],
        [3, "m3"],
        [4, "m4"],
        [5, "m5"],
      ],
    );

    const summary = await greeter.recordGreetings(["Ada", "Grace", "Ada", "Linus"].map((name) => ({ name })));
    assert.deepEqual(summary, { count: 4, distinctCount: 4, message: "" });

    const replies = await collect(
      greeter.chatGreetings([
        { name: "Ada", language: Language.LANGUAGE_JAPANESE },
        { name: "Grace", language: Language.LANGUAGE_UNSPECIFIED },
      ]),
    );
    assert.deepEqual(replies, [
      { message: "Ada", language: Language.LANGUAGE_UNSPECIFIED },
      { message: "Grace", language: Language.LANGUAGE_UNSPECIFIED },
    ]);
  });
});
