import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runExample } from "../shared/run-example.js";

describe("examples/backpressure", () => {
  it("keeps the server's producer a bounded distance ahead of a client that stops reading", async () => {
    const run = await runExample("backpressure");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.lines[0], "client asked for 100000 greetings, read the first, and stops reading for 1 s");
    const paused = /^server produced (\d+) after 0\.5 s, (\d+) after 1 s: it waits for the client$/.exec(
      run.lines[1] ?? "",
    );
    assert.ok(paused, run.stdout);
    const [half, full] = [Number(paused[1]), Number(paused[2])];
    assert.ok(half > 1, "the server produced ahead of the client");
    assert.equal(full, half, "and stopped while the client was not reading");
    assert.ok(full < 10_000, `no more than the flow-control windows and buffers hold (${full})`);
    assert.equal(run.lines[2], "client read all 100000; the server produced 100000");
    assert.equal(run.lines.length, 3);
  });
});
