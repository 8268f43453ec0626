import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import {
  eventually,
  outcomeOf,
  startOwnPostgres,
  startTestService,
  type OwnPostgres,
  type TestService,
  reportHeapAcrossFault,
} from "@lattice/kit/testing";
import { OrderServiceService, OrderState, type WatchOrderResponse } from "@lattice/proto/lattice/order/v1/order";
import { orderModule } from "../src/module.js";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

const SETTINGS = {
  // The peers are never called here: watching and cancelling need neither.
  USER_SERVICE_ADDRESS: "127.0.0.1:1",
  PAYMENT_SERVICE_ADDRESS: "127.0.0.1:1",
  DATABASE_CONNECT_TIMEOUT_MS: "1000",
  DATABASE_KEEPALIVE_MS: "1000",
};
/** While its LISTEN connection is down, a watch re-reads this often (the kit's default). */
const POLL_WHILE_DOWN_MS = 1000;

/** Reads a WatchOrder stream one state at a time, each within a time limit. */
function watching(stream: AsyncIterable<WatchOrderResponse>) {
  const iterator = stream[Symbol.asyncIterator]();
  return {
    async next(withinMs: number): Promise<{ state: OrderState | undefined; ms: number }> {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no update within ${withinMs} ms`)), withinMs);
      });
      try {
        const result = await Promise.race([iterator.next(), timeout]);
        return { state: result.done ? undefined : result.value.order?.state, ms: performance.now() - started };
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => iterator.return?.(),
  };
}

describe("WatchOrder when its LISTEN connection fails", () => {
  let postgres: OwnPostgres;
  let admin: pg.Client;
  let control: pg.Client;
  let service: TestService;
  before(async () => {
    postgres = await startOwnPostgres();
    // Both kept open, so they work while connections to the service's database are refused; the database's own
    // setting is changed from another database (PostgreSQL refuses it from the database itself).
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    control = new pg.Client({ connectionString: postgres.url.replace(/\/postgres$/, "/template1") });
    await control.connect();
  });
  after(async () => {
    await control.query("ALTER DATABASE postgres ALLOW_CONNECTIONS true");
    await control.end();
    await admin.end();
    await postgres.close();
  });
  const start = async () => {
    service = await startTestService(orderModule, { env: { DATABASE_URL: postgres.url, ...SETTINGS } });
    return service.client(OrderServiceService);
  };
  /** A PENDING order, written as the service writes one (its charge is not this test's business). */
  const pendingOrder = async () => {
    const id = randomUUID();
    await admin.query(
      `INSERT INTO orders.orders (id, user_id, items, currency_code, total_minor, state, create_time, update_time)
       VALUES ($1, $2, '[]', 'EUR', 100, 'pending', now(), now())`,
      [id, randomUUID()],
    );
    return `orders/${id}`;
  };
  const refuseConnections = (refuse: boolean) =>
    control.query(`ALTER DATABASE postgres ALLOW_CONNECTIONS ${refuse ? "false" : "true"}`);
  const listening = async () =>
    (
      await admin.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'order-listen'",
      )
    ).rows[0]!.n === "1";

  it(
    "listens again after its backend is terminated, and the open watch sees the change made while it was away",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const orders = await start();
      try {
        const name = await pendingOrder();
        const watch = watching(orders.watchOrder({ name }));
        assert.equal((await watch.next(5000)).state, OrderState.ORDER_STATE_PENDING);
        await eventually(async () => assert.ok(await listening()));

        // The listener is terminated and cannot come back yet: the change is made while nobody LISTENs.
        await refuseConnections(true);
        const terminated = performance.now();
        const { rows } = await admin.query<{ ok: boolean }>(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'order-listen'",
        );
        assert.deepEqual(rows, [{ ok: true }]);
        const cancel = await outcomeOf(orders.cancelOrder({ name }, { timeoutMs: 2000 }));
        assert.equal(cancel.code, "OK", "the pool still serves");
        const seen = await watch.next(POLL_WHILE_DOWN_MS + 2000);
        assert.equal(seen.state, OrderState.ORDER_STATE_CANCELLED, "the change made while it was away");
        assert.equal((await watch.next(2000)).state, undefined, "a cancelled order ends the watch");

        await refuseConnections(false);
        const backMs = await eventually(
          async () => {
            assert.ok(await listening());
            return performance.now() - terminated;
          },
          { withinMs: 10_000 },
        );
        // Listening again: a change is heard at once, not at the next poll.
        const next = await pendingOrder();
        const second = watching(orders.watchOrder({ name: next }));
        assert.equal((await second.next(5000)).state, OrderState.ORDER_STATE_PENDING);
        await orders.cancelOrder({ name: next }, { timeoutMs: 2000 });
        const heard = await second.next(POLL_WHILE_DOWN_MS / 2);
        assert.equal(heard.state, OrderState.ORDER_STATE_CANCELLED);
        t.diagnostic(
          `LISTEN backend terminated: the process kept running; the change made while it was away reached the watch ` +
            `after ${Math.round(seen.ms)} ms; listening again ${Math.round(backMs)} ms after the termination ` +
            `(connections were refused until then); a later change was heard in ${Math.round(heard.ms)} ms`,
        );
      } finally {
        await refuseConnections(false);
        await service.shutdown();
      }
    },
  );

  it(
    "opens its listener later when it could not at first, instead of failing every watch until a restart",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const orders = await start();
      try {
        const name = await pendingOrder();
        // The pool has a connection; the listener, opened by the first watch, cannot get one.
        await orders.getOrder({ name }, { timeoutMs: 2000 });
        await refuseConnections(true);
        const watch = watching(orders.watchOrder({ name }));
        assert.equal((await watch.next(5000)).state, OrderState.ORDER_STATE_PENDING);
        assert.equal(await listening(), false);
        await orders.cancelOrder({ name }, { timeoutMs: 2000 });
        const polled = await watch.next(POLL_WHILE_DOWN_MS + 2000);
        assert.equal(polled.state, OrderState.ORDER_STATE_CANCELLED, "seen while the listener could not open");

        await refuseConnections(false);
        await eventually(async () => assert.ok(await listening()), { withinMs: 10_000 });
        const next = await pendingOrder();
        const second = watching(orders.watchOrder({ name: next }));
        assert.equal((await second.next(5000)).state, OrderState.ORDER_STATE_PENDING);
        await orders.cancelOrder({ name: next }, { timeoutMs: 2000 });
        const heard = await second.next(POLL_WHILE_DOWN_MS / 2);
        assert.equal(heard.state, OrderState.ORDER_STATE_CANCELLED);
        t.diagnostic(
          `listener could not open: the watch still saw the change after ${Math.round(polled.ms)} ms (re-reading), ` +
            `and once it opened a change was heard in ${Math.round(heard.ms)} ms`,
        );
      } finally {
        await refuseConnections(false);
        await service.shutdown();
      }
    },
  );
});
