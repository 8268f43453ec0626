import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runExample } from "../shared/run-example.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("examples/request-id", () => {
  it("gives both services' log lines one request id: made at the edge, or the caller's own", async () => {
    const run = await runExample("request-id");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.lines, [
      "call 1 sends no x-request-id: the edge makes one, and back logs the same",
      "call 2 sends x-request-id: checkout-42, which both services keep",
    ]);
    const handled = run.logs
      .filter((log) => log["msg"] === "asking back for a greeting" || log["msg"] === "greeting")
      .map((log) => ({ service: log["service"], requestId: log["request_id"] }));
    assert.equal(handled.length, 4, run.stdout);
    const [edge1, back1, edge2, back2] = handled;
    assert.equal(edge1?.service, "edge");
    assert.match(String(edge1.requestId), UUID, "the edge made a request id");
    assert.deepEqual(back1, { service: "back", requestId: edge1.requestId }, "back logged the edge's id");
    assert.deepEqual(edge2, { service: "edge", requestId: "checkout-42" });
    assert.deepEqual(back2, { service: "back", requestId: "checkout-42" });
  });
});
