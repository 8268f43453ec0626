import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { keepRequestBytes, requestBytes } from "@lattice/kit/internal";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";

describe("the request bytes a decoded message keeps", () => {
  it("go with the message and are invisible to the handler: keys, spreads, JSON, inspection, deep equality", () => {
    const greet = keepRequestBytes(GreeterServiceService).greet;
    const bytes = greet.requestSerialize({ name: "Ada", language: Language.LANGUAGE_ENGLISH });
    const message = greet.requestDeserialize(bytes);
    assert.equal(requestBytes(message), bytes);
    assert.deepEqual(Object.keys(message), ["name", "language"]);
    assert.deepEqual(Reflect.ownKeys(message), ["name", "language"]);
    assert.equal(JSON.stringify(message), '{"name":"Ada","language":1}');
    assert.deepEqual(message, { name: "Ada", language: 1 });
    assert.deepEqual({ ...message }, { name: "Ada", language: 1 });
    assert.equal(requestBytes({ ...message }), undefined);
    assert.equal(inspect(message), "{ name: 'Ada', language: 1 }");
    for (const other of [undefined, null, "x", 1, {}, structuredClone(message)])
      assert.equal(requestBytes(other), undefined);
  });
});
