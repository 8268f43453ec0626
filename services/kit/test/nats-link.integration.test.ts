import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger, NatsLink } from "@lattice/kit";
import { eventually, startOwnNats, type OwnNats } from "@lattice/kit/testing";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

const logger = createLogger({ service: "nats-link-test", level: "silent", format: "json" });

describe("a NATS connection that is never given up", () => {
  let nats: OwnNats;
  before(async () => {
    nats = await startOwnNats();
  });
  after(async () => {
    await nats.close();
  });

  it(
    "finds a frozen broker with its pings, and is up again after the thaw",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const states: boolean[] = [];
      const link = new NatsLink({
        url: nats.url,
        name: "link-test",
        logger,
        pingIntervalMs: 500,
        reconnectWaitMs: 200,
        onStateChange: (up) => states.push(up),
      });
      link.start();
      try {
        await eventually(() => assert.ok(link.isUp));
        const frozen = performance.now();
        nats.freeze();
        let downMs: number;
        try {
          downMs = await eventually(
            () => {
              assert.equal(link.isUp, false);
              return performance.now() - frozen;
            },
            { withinMs: 10_000, intervalMs: 20 },
          );
        } finally {
          nats.thaw();
        }
        const thawed = performance.now();
        const nc = await link.connected(AbortSignal.timeout(10_000));
        assert.ok(nc, "connected again");
        const upMs = performance.now() - thawed;
        assert.deepEqual(states, [true, false, true]);
        // The connection works: a round trip to the server.
        await nc.flush();
        t.diagnostic(
          `frozen broker: found ${Math.round(downMs)} ms after the freeze (pings every 500 ms, 2 unanswered); ` +
            `up again ${Math.round(upMs)} ms after the thaw`,
        );
      } finally {
        await link.close();
      }
    },
  );
});
