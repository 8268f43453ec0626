import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runExample } from "../shared/run-example.js";

describe("examples/custom-interceptor", () => {
  it("refuses a call without a key, serves one whose key a client interceptor sent, and leaves health open", async () => {
    const run = await runExample("custom-interceptor");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.lines, [
      "Greet without a key: UNAUTHENTICATED: missing or unknown x-api-key",
      "Greet with the key, sent by a client interceptor: Hello, Ada! (called with the key of team-a)",
      "Health check without a key: SERVING, since the selector skips health",
    ]);
  });
});
