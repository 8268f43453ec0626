import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { connect } from "nats";
import { Status, type Pool } from "@lattice/kit";
import {
  assertOutboxShapedLikeKits,
  collect,
  dropSchema,
  eventually,
  grpcErrorOf,
  nextEvent,
  startTestService,
  testDatabases,
  testNatsUrl,
  testPool,
  uniqueSchema,
  type TestService,
} from "@lattice/kit/testing";
import { OrderPaid } from "@lattice/proto/lattice/order/v1/events";
import { PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { OrderServiceService, OrderState } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { paymentModule } from "@lattice/payment/module";
import { userModule } from "@lattice/user/module";
import { orderModule } from "../src/module.js";

/** The deadline of a caller that gives up while payment is charging (the processor takes 1.5 s). */
const CALLER_GIVES_UP_MS = 700;

for (const database of testDatabases())
  describe(`user + order + payment + NATS on ${database.label}, end to end`, () => {
    const schemas = {
      user: uniqueSchema("e2e_users"),
      payment: uniqueSchema("e2e_payments"),
      order: uniqueSchema("e2e_orders"),
    };
    let user: TestService, payment: TestService, order: TestService, payments: Pool, ordersDb: Pool;
    before(async () => {
      const db = database.url;
      user = await startTestService(userModule, { env: { DATABASE_URL: db, DATABASE_SCHEMA: schemas.user } });
      payment = await startTestService(paymentModule, {
        env: {
          DATABASE_URL: db,
          DATABASE_SCHEMA: schemas.payment,
          // Long enough that a caller's 700 ms deadline ends mid-charge even on a loaded machine, where the steps before
          // the charge (the user lookup, the order's insert) can take a few hundred ms.
          PROCESSOR_LATENCY_MS: "1500",
          NATS_URL: testNatsUrl(),
          OUTBOX_POLL_MS: "20",
        },
      });
      order = await startTestService(orderModule, {
        env: {
          DATABASE_URL: db,
          DATABASE_SCHEMA: schemas.order,
          USER_SERVICE_ADDRESS: user.grpcAddress,
          PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
          NATS_URL: testNatsUrl(),
          OUTBOX_POLL_MS: "20",
        },
      });
      payments = testPool(schemas.payment, database.url);
      ordersDb = testPool(schemas.order, database.url);
    });
    after(async () => {
      await payments.end();
      await ordersDb.end();
      for (const service of [order, payment, user]) await service.shutdown();
      for (const schema of Object.values(schemas)) await dropSchema(schema, database.url);
    });
    const clients = () => ({
      users: user.client(UserServiceService, { defaultTimeoutMs: 10_000 }),
      orders: order.client(OrderServiceService, { defaultTimeoutMs: 10_000 }),
      paymentsApi: payment.client(PaymentServiceService, { defaultTimeoutMs: 10_000 }),
    });
    const item = { sku: "book-1", quantity: 2, unitPrice: { currencyCode: "EUR", amountMinor: 1250 } };
    const paymentRows = async () =>
      Number((await payments.query<{ n: string }>("SELECT count(*) AS n FROM payments")).rows[0]!.n);

    it("migrates order's outbox to the shape the kit's relay is tested on", async () => {
      await assertOutboxShapedLikeKits(ordersDb, schemas.order);
    });

    it("creates a user, pays an order, streams every transition and publishes OrderPaid", async () => {
      const { users, orders, paymentsApi } = clients();
      const { user: ada } = await users.createUser({
        user: { name: "", email: "ada@example.org", displayName: "Ada", etag: "" },
      });
      const creating = orders.createOrder({ user: ada!.name, items: [item] });

      // The order is PENDING while the processor takes 1.5 s; watch it from there.
      const pendingName = await eventually(async () => {
        const name = (await orders.listOrders({ user: ada!.name, pageSize: 10, pageToken: "" })).orders[0]?.name;
        assert.ok(name, "the order is not recorded yet");
        return name;
      });
      const states = (await collect(orders.watchOrder({ name: pendingName }))).map((r) => r.order!.state);
      const { order: paid } = await creating;

      assert.deepEqual(states, [OrderState.ORDER_STATE_PENDING, OrderState.ORDER_STATE_PAID]);
      assert.equal(paid!.name, pendingName);
      assert.equal(paid!.state, OrderState.ORDER_STATE_PAID);
      assert.deepEqual(paid!.total, { currencyCode: "EUR", amountMinor: 2500 });
      const { payment: charge } = await paymentsApi.getPayment({ name: paid!.payment });
      assert.equal(charge!.state, PaymentState.PAYMENT_STATE_SUCCEEDED);
      assert.equal(charge!.order, paid!.name);

      // A paid order cannot be cancelled.
      assert.equal((await grpcErrorOf(orders.cancelOrder({ name: paid!.name }))).code, Status.FAILED_PRECONDITION);

      // The relay published OrderPaid to JetStream.
      await nextEvent(testNatsUrl(), "LATTICE_ORDER", {
        subject: "lattice.order.v1.OrderPaid",
        match: ({ data }) => OrderPaid.decode(data).order?.name === paid!.name,
      });
    });

    it("keeps a WatchOrder stream open under a deadline 30 days out until the order settles", async () => {
      const { users, orders } = clients();
      const { user: grace } = await users.createUser({
        user: { name: "", email: "grace.watch@example.org", displayName: "Grace", etag: "" },
      });
      const creating = orders.createOrder({ user: grace!.name, items: [item] });
      const pendingName = await eventually(async () => {
        const name = (await orders.listOrders({ user: grace!.name, pageSize: 10, pageToken: "" })).orders[0]?.name;
        assert.ok(name, "the order is not recorded yet");
        return name;
      });
      // Past 2^31 ms (24.8 days): grpc-js used to expire such a call at once (see the kit's grpc-js patches).
      const deadline = new Date(Date.now() + 30 * 86_400_000);
      const watched = await collect(orders.watchOrder({ name: pendingName }, { deadline }));
      await creating;
      assert.deepEqual(
        watched.map((r) => r.order!.state),
        [OrderState.ORDER_STATE_PENDING, OrderState.ORDER_STATE_PAID],
      );
    });

    it("answers an unknown user with NOT_FOUND and charges nothing", async () => {
      const { orders } = clients();
      const before = await paymentRows();
      const error = await grpcErrorOf(
        orders.createOrder({ user: "users/00000000-0000-4000-8000-000000000000", items: [item] }),
      );
      assert.equal(error.code, Status.NOT_FOUND);
      assert.equal(await paymentRows(), before);
    });

    it("hands its deadline to the payment call: a caller that gives up leaves no charge running", async () => {
      const { users, orders } = clients();
      const { user: bob } = await users.createUser({
        user: { name: "", email: "bob@example.org", displayName: "Bob", etag: "" },
      });
      const charges = () => payment.logs.filter((l) => l.msg === "finished call" && l["grpc.method"] === "Charge");
      const earlier = charges().length;
      const error = await grpcErrorOf(
        orders.createOrder({ user: bob!.name, items: [item] }, { timeoutMs: CALLER_GIVES_UP_MS }),
      );
      assert.equal(error.code, Status.DEADLINE_EXCEEDED);
      // The payment service ends this charge, cut short (the processor alone takes 1.5 s).
      const charge = await eventually(() => {
        const line = charges()[earlier];
        assert.ok(line, "the payment service has not finished the charge");
        return line;
      });
      assert.ok(["DeadlineExceeded", "Canceled"].includes(charge["grpc.code"] as string), JSON.stringify(charge));
    });

    it("settles an order whose caller left mid-charge from the payment event, and ignores a redelivery", async () => {
      const { users, orders, paymentsApi } = clients();
      const { user: cy } = await users.createUser({
        user: { name: "", email: "cy@example.org", displayName: "Cy", etag: "" },
      });
      const gaveUp = await grpcErrorOf(
        orders.createOrder({ user: cy!.name, items: [item] }, { timeoutMs: CALLER_GIVES_UP_MS }),
      );
      assert.equal(gaveUp.code, Status.DEADLINE_EXCEEDED);
      const pending = (await orders.listOrders({ user: cy!.name, pageSize: 10, pageToken: "" })).orders[0]!;
      assert.equal(pending.state, OrderState.ORDER_STATE_PENDING);

      // Retrying the charge with the order's key (as a reconciler would) publishes PaymentSucceeded; the order
      // service consumes it and settles the order.
      const { payment: charge } = await paymentsApi.charge({
        order: pending.name,
        amount: pending.total,
        idempotencyKey: pending.name,
      });
      const settled = await eventually(
        async () => {
          const order = (await orders.getOrder({ name: pending.name })).order!;
          assert.equal(order.state, OrderState.ORDER_STATE_PAID);
          return order;
        },
        { withinMs: 10_000, intervalMs: 50 },
      );
      assert.equal(settled.payment, charge!.name);

      // The same event delivered again (a new message id, so JetStream keeps it) changes nothing. Events are handled
      // in stream order: once an event published after the redelivery has settled a second PENDING order, the
      // redelivery has been handled too.
      assert.equal(
        (await grpcErrorOf(orders.createOrder({ user: cy!.name, items: [item] }, { timeoutMs: CALLER_GIVES_UP_MS })))
          .code,
        Status.DEADLINE_EXCEEDED,
      );
      const { orders: both } = await orders.listOrders({ user: cy!.name, pageSize: 10, pageToken: "" });
      const second = both.find((order) => order.name !== pending.name)!;
      assert.equal(second.state, OrderState.ORDER_STATE_PENDING);
      const marker = "payments/11111111-1111-4111-8111-111111111111";
      const nats = await connect({ servers: testNatsUrl() });
      try {
        const js = nats.jetstream();
        const succeeded = (payment: NonNullable<PaymentSucceeded["payment"]>) =>
          js.publish(
            "lattice.payment.v1.PaymentSucceeded",
            PaymentSucceeded.encode({ eventId: randomUUID(), payment }).finish(),
          );
        await succeeded({ ...charge!, name: "payments/00000000-0000-4000-8000-000000000000" });
        await succeeded({ ...charge!, name: marker, order: second.name });
      } finally {
        await nats.close();
      }
      await eventually(
        async () => {
          const order = (await orders.getOrder({ name: second.name })).order!;
          assert.equal(order.payment, marker, "the event after the redelivery is not handled yet");
        },
        { withinMs: 10_000, intervalMs: 50 },
      );
      assert.deepEqual((await orders.getOrder({ name: pending.name })).order, settled);
    });

    it("answers bad input on every RPC with INVALID_ARGUMENT and field violations, writing nothing", async () => {
      const { orders } = clients();
      const rows = async () =>
        Number((await ordersDb.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]!.n);
      const before = await rows();
      const error = await grpcErrorOf(
        orders.createOrder({
          user: "people/1",
          items: [{ sku: "", quantity: 0, unitPrice: { currencyCode: "eur", amountMinor: 0 } }],
        }),
      );
      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.deepEqual(
        error.detail("BadRequest")?.fieldViolations.map((v) => v.field),
        [
          "user",
          "items[0].sku",
          "items[0].quantity",
          "items[0].unit_price.currency_code",
          "items[0].unit_price.amount_minor",
        ],
      );
      for (const [call, field] of [
        [orders.getOrder({ name: "x" }), "name"],
        [orders.cancelOrder({ name: "" }), "name"],
        [orders.listOrders({ user: "u", pageSize: 1, pageToken: "" }), "user"],
        [collect(orders.watchOrder({ name: "orders/nope" })), "name"],
      ] as const) {
        const failure = await grpcErrorOf(call);
        assert.equal(failure.code, Status.INVALID_ARGUMENT);
        assert.equal(failure.detail("BadRequest")?.fieldViolations[0]?.field, field);
      }
      assert.equal(await rows(), before);
    });
  });
