import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runExample } from "../shared/run-example.js";

describe("examples/error-details", () => {
  it("shows a client every field violation, from the contract and the handler, the retry delay and the trailers", async () => {
    const run = await runExample("error-details");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.lines, [
      // The contract's rules, checked by the kit before the handler runs: every violation at once, no trailer.
      'Greet " " in language 42: INVALID_ARGUMENT: name: must not be empty; language: value must be one of the defined enum values',
      "  BadRequest: name: must not be empty",
      "  BadRequest: language: value must be one of the defined enum values",
      // The handler's own rule, with the trailer it set before failing.
      'Greet "Ada" in LANGUAGE_GERMAN: INVALID_ARGUMENT: language: LANGUAGE_GERMAN is not supported',
      "  BadRequest: language: LANGUAGE_GERMAN is not supported",
      "  trailer x-cost-units: 1",
      'Greet "Ada" in LANGUAGE_JAPANESE: UNAVAILABLE: the Japanese translator is down',
      "  RetryInfo: try again in 1500 ms",
      "  trailer x-cost-units: 1",
      'Greet "Ada" in LANGUAGE_FRENCH: Bonjour, Ada!',
    ]);
    const logged = run.logs.find((log) => log["msg"] === "finished call");
    assert.equal(logged?.["grpc.code"], "Unavailable", "the server logged the failure worth a warning");
  });
});
