import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pool } from "@lattice/kit";
import {
  OutcomeLedger,
  assertAccountedFor,
  assertFuzzReport,
  assertOutboxesPublished,
  assertServing,
  contractViolations,
  dropSchema,
  eventsByName,
  fuzz,
  grpcMessages,
  readOutbox,
  startFuzzRun,
  startTestService,
  testDatabaseUrl,
  testNatsUrl,
  testPool,
  uniqueSchema,
} from "@lattice/kit/testing";
import { OrderCancelled, OrderCreated, OrderPaid, OrderPaymentFailed } from "@lattice/proto/lattice/order/v1/events";
import {
  CancelOrderRequest,
  CreateOrderRequest,
  CreateOrderResponse,
  GetOrderRequest,
  ListOrdersRequest,
  OrderServiceService,
  WatchOrderRequest,
} from "@lattice/proto/lattice/order/v1/order";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { paymentModule } from "@lattice/payment/module";
import { userModule } from "@lattice/user/module";
import { orderModule } from "../src/module.js";
import { UNIT_PRICE_MAX_MINOR, type OrderItem } from "../src/orders.js";

const ORDERS = "lattice.order.v1.OrderService";
const CREATE = `/${ORDERS}/CreateOrder`;

/** The events each state leaves in the order's outbox, in the order they are written. */
const EVENTS_OF_STATE: Readonly<Record<string, readonly string[]>> = {
  pending: ["OrderCreated"],
  paid: ["OrderCreated", "OrderPaid"],
  payment_failed: ["OrderCreated", "OrderPaymentFailed"],
  cancelled: ["OrderCreated", "OrderCancelled"],
};
/** The order each event kind is about. */
const ORDER_OF_EVENT: Readonly<Record<string, (payload: Uint8Array) => string>> = {
  OrderCreated: (payload) => OrderCreated.decode(payload).order?.name ?? "",
  OrderPaid: (payload) => OrderPaid.decode(payload).order?.name ?? "",
  OrderPaymentFailed: (payload) => OrderPaymentFailed.decode(payload).order?.name ?? "",
  OrderCancelled: (payload) => OrderCancelled.decode(payload).order?.name ?? "",
};

interface OrderRow {
  id: string;
  user_id: string;
  items: OrderItem[];
  currency_code: string;
  total_minor: string;
  state: string;
  payment_id: string | null;
}

interface PaymentRow {
  id: string;
  order_name: string;
  currency_code: string;
  amount_minor: string;
  state: string;
}

describe("order service under fuzzed requests, with user and payment, on PostgreSQL and NATS", () => {
  it("answers every input with a client's code, keeps serving, and stores no order but whole, paid ones", async (t) => {
    const run = startFuzzRun(t, { inputs: 300, timeMs: 30_000 });
    const { seed } = run;
    const url = testDatabaseUrl();
    const schemas = {
      user: uniqueSchema("users_ofuzz"),
      payment: uniqueSchema("payments_ofuzz"),
      order: uniqueSchema("orders_ofuzz"),
    };
    const database = (schema: string) => ({ DATABASE_URL: url, DATABASE_SCHEMA: schema });
    const events = { NATS_URL: testNatsUrl(), OUTBOX_POLL_MS: "50" };
    await using user = await startTestService(userModule, { env: database(schemas.user) });
    await using payment = await startTestService(paymentModule, {
      env: { ...database(schemas.payment), ...events, PROCESSOR_LATENCY_MS: "5", PROCESSOR_DECLINE_RATE: "0.3" },
    });
    await using order = await startTestService(orderModule, {
      env: {
        ...database(schemas.order),
        ...events,
        USER_SERVICE_ADDRESS: user.grpcAddress,
        PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
      },
    });
    const ordersDb = testPool(schemas.order, url);
    const paymentsDb = testPool(schemas.payment, url);
    t.after(async () => {
      await ordersDb.end();
      await paymentsDb.end();
      for (const schema of Object.values(schemas)) await dropSchema(schema, url);
    });

    const { user: ada } = await user
      .client(UserServiceService, { defaultTimeoutMs: 5000 })
      .createUser({ user: { name: "", email: "ada@example.org", displayName: "Ada", etag: "" } });
    const orders = order.client(OrderServiceService, { defaultTimeoutMs: 10_000 });
    const item = (sku: string, quantity: number, amountMinor: number) => ({
      sku,
      quantity,
      unitPrice: { currencyCode: "EUR", amountMinor },
    });
    const createOf = (items: ReturnType<typeof item>[]) => ({ user: ada!.name, items });
    const seeded: string[] = [];
    for (const items of [[item("book-1", 2, 1250)], [item("pen", 1, 99), item("ink.blue", 3, 450)]]) {
      const { order: placed } = await orders.createOrder(createOf(items));
      seeded.push(placed!.name);
    }

    const ledger = new OutcomeLedger();
    const report = await fuzz({
      address: order.grpcAddress,
      services: [ORDERS],
      ...run,
      seeds: {
        [CREATE]: [
          CreateOrderRequest.encode(createOf([item("book-1", 1, 1999)])).finish(),
          CreateOrderRequest.encode(createOf([item("a", 1000, UNIT_PRICE_MAX_MINOR), item("b_2", 1, 1)])).finish(),
        ],
        [`/${ORDERS}/GetOrder`]: seeded.map((name) => GetOrderRequest.encode({ name }).finish()),
        [`/${ORDERS}/ListOrders`]: [ListOrdersRequest.encode({ user: ada!.name, pageSize: 1, pageToken: "" }).finish()],
        [`/${ORDERS}/CancelOrder`]: seeded.map((name) => CancelOrderRequest.encode({ name }).finish()),
        [`/${ORDERS}/WatchOrder`]: seeded.map((name) => WatchOrderRequest.encode({ name }).finish()),
      },
      onResult(path, result) {
        if (path === CREATE)
          ledger.record(path, result, () => CreateOrderResponse.decode(grpcMessages(result.body)[0]!).order!.name);
      },
    });
    const [created, unknownCreates] = [ledger.named(CREATE), ledger.unknown(CREATE)];
    assertFuzzReport(t, "order", run, report);
    t.diagnostic(`orders created ${created.size}, unknown outcome ${unknownCreates}`);

    for (const service of [order, user, payment]) await assertServing(service, service === order ? [ORDERS] : []);
    const { order: after } = await orders.createOrder(createOf([item("after", 1, 1)]));
    assert.ok(after?.name);

    // One snapshot of both services' tables (one database, two schemas): events settle pending orders meanwhile.
    const { rows, outbox, paymentRows } = await snapshot(ordersDb, schemas.payment);

    // Every order the OK answers account for is there (more only for calls of unknown outcome), none lost.
    const stored = new Set(rows.map((row) => `orders/${row.id}`));
    assertAccountedFor({
      seed,
      what: "orders",
      stored,
      expected: [...seeded, ...created, after.name],
      unknownMakes: unknownCreates,
    });

    // Each one whole: items a request the contract allows, of one currency, a total that adds up, its events; and
    // paid with a payment of that amount for that order, or not charged at all.
    const paymentsById = new Map(paymentRows.map((row) => [row.id, row]));
    const eventsOf = eventsByName(outbox, "lattice.order.v1.", ORDER_OF_EVENT);
    for (const row of rows) {
      const name = `orders/${row.id}`;
      const request = CreateOrderRequest.encode({ user: `users/${row.user_id}`, items: row.items }).finish();
      assert.deepEqual(contractViolations(CREATE, request), [], `seed ${seed}: stored ${name}`);
      assert.equal(`users/${row.user_id}`, ada!.name, `${name} belongs to a user that exists`);
      assert.ok(
        row.items.every(
          (i) => i.unitPrice.currencyCode === row.currency_code && i.unitPrice.amountMinor <= UNIT_PRICE_MAX_MINOR,
        ),
        `seed ${seed}: ${name} has items of another currency or over the unit price limit`,
      );
      const total = row.items.reduce((sum, i) => sum + i.quantity * i.unitPrice.amountMinor, 0);
      assert.equal(Number(row.total_minor), total, `seed ${seed}: ${name} total`);
      assert.deepEqual(eventsOf.get(name) ?? [], EVENTS_OF_STATE[row.state] ?? [`a state ${row.state}`], name);
      eventsOf.delete(name);
      const charge = row.payment_id === null ? undefined : paymentsById.get(row.payment_id);
      if (row.state === "paid") {
        assert.ok(charge && ["succeeded", "refunded"].includes(charge.state), `seed ${seed}: ${name} paid, no charge`);
        assert.equal(charge.order_name, name);
        assert.deepEqual([charge.currency_code, Number(charge.amount_minor)], [row.currency_code, total], name);
      } else if (row.state === "payment_failed") {
        assert.ok(!charge || charge.state === "declined", `seed ${seed}: ${name} failed, yet charged`);
      } else {
        assert.ok(row.state === "pending" || row.payment_id === null, `seed ${seed}: ${name} ${row.state} charged`);
      }
    }
    assert.deepEqual([...eventsOf.keys()], [], `seed ${seed}: events of orders not stored`);
    // No charge for an order that is not stored.
    const strays = paymentRows.filter((p) => !stored.has(p.order_name)).map((p) => p.order_name);
    assert.deepEqual(strays, [], `seed ${seed}: charges for orders that do not exist`);

    // Both relays published everything to NATS.
    await assertOutboxesPublished([ordersDb, paymentsDb]);
  });
});

/** The orders, the order service's outbox and the payments, as one consistent snapshot. */
async function snapshot(ordersDb: Pool, paymentSchema: string) {
  return ordersDb.transaction(async (client) => {
    await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await client.query<OrderRow>(
      "SELECT id, user_id, items, currency_code, total_minor, state, payment_id FROM orders",
    );
    const outbox = await readOutbox(client);
    const { rows: paymentRows } = await client.query<PaymentRow>(
      `SELECT id, order_name, currency_code, amount_minor, state FROM ${paymentSchema}.payments`,
    );
    return { rows, outbox, paymentRows };
  });
}
