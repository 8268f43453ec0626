import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { connect } from "nats";
import pg from "pg";
import { DEAD_LETTER_STREAM, DeadLetterHeader } from "@lattice/kit";
import {
  eventually,
  httpStatus,
  startOwnNats,
  startOwnPostgres,
  startTestService,
  storedMessages,
  type OwnNats,
  type OwnPostgres,
  type TestService,
  reportHeapAcrossFault,
} from "@lattice/kit/testing";
import { paymentModule } from "@lattice/payment/module";
import { PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { orderModule } from "../src/module.js";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 120_000;

const SUCCEEDED = "lattice.payment.v1.PaymentSucceeded";
/** Longer than the NATS client's own reconnect budget (10 attempts, 2 s apart), which the services used to keep. */
const OUTAGE_MS = 25_000;

describe("payment → NATS → order when the broker fails", () => {
  let postgres: OwnPostgres;
  let nats: OwnNats;
  let admin: pg.Client;
  let payment: TestService;
  let order: TestService;

  before(async () => {
    [postgres, nats] = await Promise.all([startOwnPostgres(), startOwnNats()]);
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    // The broker is down before the services start.
    await nats.stop();
    payment = await startTestService(paymentModule, {
      env: { DATABASE_URL: postgres.url, NATS_URL: nats.url, PROCESSOR_LATENCY_MS: "0", OUTBOX_POLL_MS: "50" },
    });
    order = await startTestService(orderModule, {
      env: {
        DATABASE_URL: postgres.url,
        NATS_URL: nats.url,
        OUTBOX_POLL_MS: "50",
        USER_SERVICE_ADDRESS: "127.0.0.1:1",
        PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
      },
    });
  });
  after(async () => {
    await order.shutdown();
    await payment.shutdown();
    await admin.end();
    await Promise.all([postgres.close(), nats.close()]);
  });

  /** A PENDING order whose caller left: only the payment's event can settle it. */
  const pendingOrder = async () => {
    const id = randomUUID();
    await admin.query(
      `INSERT INTO orders.orders (id, user_id, items, currency_code, total_minor, state, create_time, update_time)
       VALUES ($1, $2, '[]', 'EUR', 100, 'pending', now(), now())`,
      [id, randomUUID()],
    );
    return id;
  };
  const charge = (orderId: string) =>
    payment
      .client(PaymentServiceService)
      .charge(
        { order: `orders/${orderId}`, amount: { currencyCode: "EUR", amountMinor: 100 }, idempotencyKey: orderId },
        { timeoutMs: 5000 },
      );
  const states = async (ids: readonly string[]) =>
    (
      await admin.query<{ state: string }>("SELECT state FROM orders.orders WHERE id = ANY($1::uuid[])", [ids])
    ).rows.map((row) => row.state);
  const unpublished = async () =>
    Number(
      (await admin.query<{ n: string }>("SELECT count(*) AS n FROM payments.outbox WHERE published_at IS NULL"))
        .rows[0]!.n,
    );
  /** PaymentSucceeded events the stream stores: how many, and how many distinct event ids. */
  const stored = async () => {
    const events = (await storedMessages(nats.url, "LATTICE_PAYMENT")).filter((m) => m.subject === SUCCEEDED);
    const ids = new Set(events.map((event) => PaymentSucceeded.decode(event.data).eventId));
    return { count: events.length, distinct: ids.size };
  };
  const metric = async (service: TestService, line: string) => {
    const text = await (await fetch(`${service.adminUrl}/metrics`)).text();
    return text.split("\n").find((row) => row.startsWith(line));
  };
  const natsWarnings = (service: TestService, from: number) =>
    service.logs.slice(from).filter((line) => line.level >= 40 && line.msg.includes("NATS"));

  it(
    "starts, serves and writes with the broker down, then publishes and consumes once it is up",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      assert.equal(await httpStatus(`${payment.adminUrl}/readyz`), 200, "payment started and is ready");
      assert.equal(await httpStatus(`${order.adminUrl}/readyz`), 200, "order started and is ready");
      assert.equal(
        await metric(payment, 'lattice_dependency_up{dependency="nats"}'),
        'lattice_dependency_up{dependency="nats"} 0',
        "a broker down from the start shows",
      );
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await pendingOrder());
      for (const id of ids) await charge(id);
      assert.equal(await unpublished(), 5, "the events wait in the outbox");
      assert.deepEqual(await states(ids), Array<string>(5).fill("pending"));

      const started = performance.now();
      await nats.start();
      const settledMs = await eventually(
        async () => {
          assert.deepEqual(await states(ids), Array<string>(5).fill("paid"));
          return performance.now() - started;
        },
        { withinMs: 20_000, intervalMs: 50 },
      );
      assert.equal(await unpublished(), 0);
      const events = await stored();
      assert.deepEqual(events, { count: 5, distinct: 5 }, "each event stored once");
      t.diagnostic(
        `broker down at start: both services started and served; 5 charges written; once the broker was up the ` +
          `orders were settled after ${Math.round(settledMs)} ms; lost 0, duplicated ${events.count - events.distinct}`,
      );
    },
  );

  it(
    `reconnects after the broker was away for ${OUTAGE_MS / 1000} s, logging the outage without flooding`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const logsFrom = { payment: payment.logs.length, order: order.logs.length };
      const before = await stored();
      await nats.stop();
      const ids: string[] = [];
      const stoppedAt = performance.now();
      let ready = true;
      while (performance.now() - stoppedAt < OUTAGE_MS) {
        const id = await pendingOrder();
        await charge(id);
        ids.push(id);
        ready &&= (await httpStatus(`${payment.adminUrl}/readyz`)) === 200;
        ready &&= (await httpStatus(`${order.adminUrl}/readyz`)) === 200;
        await delay(2500);
      }
      assert.ok(ready, "readiness stays SERVING: the outbox keeps writes working through a broker outage");
      assert.equal(
        await metric(payment, 'lattice_dependency_up{dependency="nats"}'),
        'lattice_dependency_up{dependency="nats"} 0',
      );
      assert.deepEqual(await states(ids), Array<string>(ids.length).fill("pending"));

      const restarted = performance.now();
      await nats.start();
      const settledMs = await eventually(
        async () => {
          assert.deepEqual(await states(ids), Array<string>(ids.length).fill("paid"));
          return performance.now() - restarted;
        },
        { withinMs: 30_000, intervalMs: 50 },
      );
      assert.equal(await unpublished(), 0);
      const after = await stored();
      assert.deepEqual(after, { count: before.count + ids.length, distinct: before.count + ids.length });
      assert.equal(
        await metric(payment, 'lattice_dependency_up{dependency="nats"}'),
        'lattice_dependency_up{dependency="nats"} 1',
      );
      const warnings = { payment: natsWarnings(payment, logsFrom.payment), order: natsWarnings(order, logsFrom.order) };
      assert.ok(warnings.payment.length <= 3 && warnings.order.length <= 3, JSON.stringify(warnings));
      const outages = await metric(payment, 'lattice_dependency_outages_total{dependency="nats"}');
      assert.equal(outages, 'lattice_dependency_outages_total{dependency="nats"} 2', "the one at start, and this one");
      t.diagnostic(
        `broker away ${OUTAGE_MS / 1000} s: ${ids.length} charges written meanwhile, readiness SERVING throughout; ` +
          `all settled ${Math.round(settledMs)} ms after the restart; lost 0, duplicated ${after.count - after.distinct}; ` +
          `warnings logged: payment ${warnings.payment.length}, order ${warnings.order.length}; ${outages}`,
      );
    },
  );

  it(
    "dead-letters an undecodable payment event and goes on with the events after it",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const nc = await connect({ servers: nats.url });
      try {
        await nc.jetstream().publish(SUCCEEDED, Uint8Array.from([0x0a, 0x64, 0x01]), { msgID: randomUUID() });
      } finally {
        await nc.close();
      }
      const id = await pendingOrder();
      await charge(id);
      await eventually(async () => assert.deepEqual(await states([id]), ["paid"]), { withinMs: 10_000 });
      const letters = await eventually(
        async () => {
          const found = (await storedMessages(nats.url, DEAD_LETTER_STREAM)).filter(
            (m) => m.headers[DeadLetterHeader.CONSUMER] === "order",
          );
          assert.equal(found.length, 1);
          return found;
        },
        { withinMs: 10_000 },
      );
      assert.equal(letters[0]!.headers[DeadLetterHeader.REASON], "poison");
      assert.equal(letters[0]!.headers[DeadLetterHeader.DELIVERIES], "1");
      assert.equal(
        await metric(order, 'lattice_events_dead_lettered_total{stream="LATTICE_PAYMENT",reason="poison"}'),
        'lattice_events_dead_lettered_total{stream="LATTICE_PAYMENT",reason="poison"} 1',
      );
      t.diagnostic(
        `poison payment event: delivered once, dead-lettered to ${DEAD_LETTER_STREAM} (seq ${letters[0]!.headers[DeadLetterHeader.SEQUENCE]} ` +
          `of LATTICE_PAYMENT), counted; the next order was settled`,
      );
    },
  );
});
