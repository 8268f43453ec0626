import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runExample } from "../shared/run-example.js";

/** The number a line matching `pattern` captured; fails naming the line otherwise. */
function numberIn(line: string | undefined, pattern: RegExp): number {
  const match = pattern.exec(line ?? "");
  assert.ok(match?.[1], `${JSON.stringify(line)} does not match ${String(pattern)}`);
  return Number(match[1]);
}

describe("examples/deadline-propagation", () => {
  it("passes the caller's remaining deadline and its cancellation on to back, with no options in front", async () => {
    const run = await runExample("deadline-propagation");
    assert.equal(run.code, 0, run.stderr);
    const [call1, front1, back1, answer, call2, front2, back2, gaveUp, cancelled, ...rest] = run.lines;
    assert.equal(call1, "[caller] Greet through front, with a deadline 3000 ms away");
    const frontLeft = numberIn(front1, /^\[front\] {2}(\d+) ms left; calls back with no options$/);
    const backLeft = numberIn(back1, /^\[back\] {3}(\d+) ms left; works for 1000 ms$/);
    assert.ok(frontLeft <= 3000 && backLeft <= frontLeft, `caller 3000, front ${frontLeft}, back ${backLeft}`);
    assert.ok(backLeft > 2000, `back saw the caller's deadline (${backLeft} ms left), not a fresh one`);
    assert.equal(answer, "[caller] answer: Hello, Ada!");

    assert.equal(call2, "[caller] Greet through front again, giving up after 100 ms");
    assert.equal(front2, "[front]  no deadline; calls back with no options");
    // The caller set no deadline: back gets the default deadline of front's client (CLIENT_TIMEOUT_MS, 10 s).
    const backDefault = numberIn(back2, /^\[back\] {3}(\d+) ms left; works for 1000 ms$/);
    assert.ok(
      backDefault > 9000 && backDefault <= 10_000,
      `back got the client's default deadline (${backDefault} ms)`,
    );
    assert.equal(gaveUp, "[caller] gave up: CANCELLED");
    const after = numberIn(cancelled, /^\[back\] {3}cancelled after (\d+) ms: stops working on it$/);
    assert.ok(after < 1000, `back stopped before finishing its work (after ${after} ms)`);
    assert.deepEqual(rest, []);
  });
});
