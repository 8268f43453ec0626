import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testNatsUrl } from "@lattice/kit/testing";
import { runExample } from "../shared/run-example.js";

const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

describe("examples/event-consumer (NATS JetStream)", () => {
  it("records every event once: a copy delivered again changes nothing", async () => {
    const run = await runExample("event-consumer", { NATS_URL: testNatsUrl() });
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const order = new RegExp(`for (orders/${ID}): 12\\.50 EUR$`).exec(run.lines[0] ?? "")?.[1];
    assert.ok(order, run.stdout);
    assert.match(run.lines[0]!, new RegExp(`^published PaymentSucceeded ${ID} for `));
    assert.equal(run.lines[1], "published the same event again under another message id: JetStream delivers it twice");
    assert.match(run.lines[2]!, new RegExp(`^published PaymentSucceeded ${ID} for ${order}: 7\\.50 EUR$`));
    assert.equal(run.lines[3], "ledger: 3 deliveries, 1 ignored as already recorded");
    assert.equal(run.lines[4], `ledger: ${order} paid 20.00 EUR`);
    assert.equal(run.lines.length, 5);
  });

  it("says how to get NATS when NATS_URL is not set, and fails", async () => {
    const run = await runExample("event-consumer");
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^NATS_URL is not set: start NATS with JetStream/);
  });
});
