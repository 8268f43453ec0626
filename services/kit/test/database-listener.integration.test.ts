import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger, PgListener } from "@lattice/kit";
import { eventually, startOwnPostgres, type OwnPostgres } from "@lattice/kit/testing";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

const logger = createLogger({ service: "listener-test", level: "silent", format: "json" });
const CHANNEL = "listener_test.changed";

describe("a LISTEN connection that survives its connection", () => {
  let postgres: OwnPostgres;
  const listeners: PgListener[] = [];
  const listener = (settings: Partial<ConstructorParameters<typeof PgListener>[0]> = {}) => {
    const created = new PgListener({
      url: postgres.url,
      channel: CHANNEL,
      applicationName: "listener-test",
      timeoutMs: 500,
      retry: { initialMs: 50, maxMs: 500 },
      // Long: in these tests only a notification or a resynchronisation may wake a waiter.
      pollWhileDownMs: 60_000,
      logger,
      ...settings,
    });
    listeners.push(created);
    return created;
  };
  const notify = (key: string) => postgres.query("SELECT pg_notify($1, $2)", [CHANNEL, key]);

  before(async () => {
    postgres = await startOwnPostgres();
  });
  after(async () => {
    for (const created of listeners) await created.close();
    await postgres.close();
  });

  it("delivers notifications for the key waited on", { timeout: TEST_TIMEOUT_MS }, async () => {
    const changes = listener();
    changes.start();
    await eventually(() => assert.ok(changes.listening));
    const waiting = changes.nextChange("order-1", AbortSignal.timeout(5000));
    await notify("order-1");
    await waiting;
  });

  it(
    "listens again after its backend is terminated, and wakes waiters: what was notified meanwhile is lost",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const changes = listener({ applicationName: "listener-test-terminated" });
      changes.start();
      await eventually(() => assert.ok(changes.listening));
      const waiting = changes.nextChange("order-2", AbortSignal.timeout(30_000));
      const terminated = performance.now();
      assert.equal(await postgres.terminate("listener-test-terminated"), 1);
      await waiting;
      const wokenMs = performance.now() - terminated;
      assert.ok(changes.listening, "woken once it listens again");
      assert.ok(wokenMs < 5000, `woken after ${Math.round(wokenMs)} ms`);
      const next = changes.nextChange("order-2", AbortSignal.timeout(5000));
      await notify("order-2");
      await next;
      t.diagnostic(`terminated LISTEN backend: listening again and waiters woken after ${Math.round(wokenMs)} ms`);
    },
  );

  it(
    "finds a frozen server with its heartbeat, and listens again after the thaw",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const changes = listener({ heartbeatMs: 500 });
      changes.start();
      await eventually(() => assert.ok(changes.listening));
      const frozen = performance.now();
      postgres.freeze();
      let lostMs: number;
      try {
        lostMs = await eventually(
          () => {
            assert.equal(changes.listening, false);
            return performance.now() - frozen;
          },
          { withinMs: 5000 },
        );
      } finally {
        postgres.thaw();
      }
      const thawed = performance.now();
      await eventually(() => assert.ok(changes.listening), { withinMs: 5000 });
      const backMs = performance.now() - thawed;
      const next = changes.nextChange("order-3", AbortSignal.timeout(5000));
      await notify("order-3");
      await next;
      t.diagnostic(
        `frozen server: the LISTEN connection was found dead after ${Math.round(lostMs)} ms (heartbeat 500 ms, timeout 500 ms); listening ${Math.round(backMs)} ms after the thaw`,
      );
    },
  );

  it(
    "keeps trying to open while the server is down, and listens once it is up",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await postgres.stop();
      const changes = listener();
      let woken = false;
      const waiting = changes.nextChange("order-4", AbortSignal.timeout(30_000)).then(() => (woken = true));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(changes.listening, false);
      assert.equal(woken, false);
      await postgres.start();
      await waiting;
      assert.ok(changes.listening);
    },
  );
});
