import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Status, type Pool } from "@lattice/kit";
import {
  assertOutboxShapedLikeKits,
  dropSchema,
  eventually,
  grpcErrorOf,
  nextEvent,
  startTestService,
  testDatabases,
  testDatabaseUrl,
  testNatsUrl,
  testPool,
  uniqueSchema,
  type TestService,
  grpcFrame,
  rawCall,
  rawConnection,
} from "@lattice/kit/testing";
import { PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { paymentModule } from "../src/module.js";

const started: { service: TestService; schema: string; pool: Pool; url: string }[] = [];
after(async () => {
  for (const { service, schema, pool, url } of started) {
    await service.shutdown();
    await pool.end();
    await dropSchema(schema, url);
  }
});

/** A payment service on a fresh schema, with the processor behaving as `env` says. */
async function paymentService(env: Record<string, string> = {}, url = testDatabaseUrl()) {
  const schema = uniqueSchema("payments_test");
  const service = await startTestService(paymentModule, {
    env: { DATABASE_URL: url, DATABASE_SCHEMA: schema, PROCESSOR_LATENCY_MS: "20", ...env },
  });
  const pool = testPool(schema, url);
  started.push({ service, schema, pool, url });
  const count = async (table: string) =>
    Number((await pool.query<{ count: string }>(`SELECT count(*) FROM ${table}`)).rows[0]!.count);
  return {
    client: service.client(PaymentServiceService, { defaultTimeoutMs: 10_000 }),
    pool,
    schema,
    count,
    address: service.grpcAddress,
  };
}

const eur = (amountMinor: number) => ({ currencyCode: "EUR", amountMinor });

for (const database of testDatabases())
  describe(`payment service on ${database.label}`, () => {
    it("charges once for 50 concurrent duplicates of one key, and answers them all alike", async () => {
      const { client, pool, count } = await paymentService({ PROCESSOR_LATENCY_MS: "100" }, database.url);
      const request = { order: "orders/o-1", amount: eur(1999), idempotencyKey: "orders/o-1" };
      const responses = await Promise.all(Array.from({ length: 50 }, () => client.charge(request)));

      assert.equal(await count("payments"), 1);
      for (const response of responses) assert.deepEqual(response, responses[0]);
      assert.equal(responses[0]!.payment!.state, PaymentState.PAYMENT_STATE_SUCCEEDED);
      // The event went into the outbox with the payment, once.
      const { rows } = await pool.query<{ subject: string; payload: Buffer }>("SELECT subject, payload FROM outbox");
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.subject, "lattice.payment.v1.PaymentSucceeded");
      assert.equal(PaymentSucceeded.decode(rows[0]!.payload).payment?.name, responses[0]!.payment!.name);
    });

    it("refuses an idempotency key reused for a different amount", async () => {
      const { client, count } = await paymentService({}, database.url);
      await client.charge({ order: "orders/o-2", amount: eur(500), idempotencyKey: "k-2" });
      const error = await grpcErrorOf(client.charge({ order: "orders/o-2", amount: eur(501), idempotencyKey: "k-2" }));
      assert.equal(error.code, Status.FAILED_PRECONDITION);
      assert.equal(error.detail("PreconditionFailure")?.violations[0]?.type, "IDEMPOTENCY_KEY_REUSED");
      assert.equal(await count("payments"), 1);
    });

    it("stores a declined charge as DECLINED, and refuses to refund it", async () => {
      const { client, pool } = await paymentService({ PROCESSOR_DECLINE_RATE: "1" }, database.url);
      const { payment } = await client.charge({ order: "orders/o-3", amount: eur(100), idempotencyKey: "k-3" });
      assert.equal(payment!.state, PaymentState.PAYMENT_STATE_DECLINED);
      assert.equal(payment!.declineReason, "card declined");
      const subjects = (await pool.query<{ subject: string }>("SELECT subject FROM outbox")).rows.map((r) => r.subject);
      assert.deepEqual(subjects, ["lattice.payment.v1.PaymentDeclined"]);
      assert.equal((await grpcErrorOf(client.refund({ name: payment!.name }))).code, Status.FAILED_PRECONDITION);
    });

    it("refunds a succeeded payment once; a second refund changes nothing", async () => {
      const { client, count } = await paymentService({}, database.url);
      const { payment } = await client.charge({ order: "orders/o-4", amount: eur(700), idempotencyKey: "k-4" });
      const first = await client.refund({ name: payment!.name });
      assert.equal(first.payment!.state, PaymentState.PAYMENT_STATE_REFUNDED);
      const second = await client.refund({ name: payment!.name });
      assert.deepEqual(second, first);
      assert.deepEqual((await client.getPayment({ name: payment!.name })).payment, first.payment);
      assert.equal(await count("outbox"), 2);
    });

    it("writes nothing when the processor is down, and says when to retry", async () => {
      const { client, count } = await paymentService({ PROCESSOR_FAILURE_RATE: "1" }, database.url);
      const error = await grpcErrorOf(client.charge({ order: "orders/o-5", amount: eur(100), idempotencyKey: "k-5" }));
      assert.equal(error.code, Status.UNAVAILABLE);
      assert.ok(error.detail("RetryInfo")?.retryDelay);
      assert.equal(await count("payments"), 0);
      assert.equal(await count("outbox"), 0);
    });

    it("answers an amount_minor of 2^60 with INVALID_ARGUMENT naming the field, not INTERNAL, charging nothing", async () => {
      // ts-proto's decoder (int64 as JS numbers) throws beyond 2^53; grpc-js used to answer INTERNAL "Error
      // deserializing request" before the service's range check could run.
      const { count, address } = await paymentService({}, database.url);
      const money = new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string("EUR")
        .tag(2, WireType.Varint)
        .int64(2n ** 60n);
      const request = new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string("orders/big-1")
        .tag(2, WireType.LengthDelimited)
        .bytes(money.finish())
        .tag(3, WireType.LengthDelimited)
        .string("big-1")
        .finish();
      const session = rawConnection(address);
      try {
        const result = await rawCall(session, "/lattice.payment.v1.PaymentService/Charge", grpcFrame(request));
        assert.equal(result.code, Status.INVALID_ARGUMENT, result.message);
        assert.match(result.message, /^amount\.amount_minor: must be between -9007199254740991 and 9007199254740991/);
      } finally {
        session.close();
      }
      assert.equal(await count("payments"), 0);
      assert.equal(await count("outbox"), 0);
    });

    it("answers bad input on every RPC with INVALID_ARGUMENT and field violations, writing nothing", async () => {
      const { client, count } = await paymentService({}, database.url);
      const cases = [
        [
          client.charge({ order: "order-1", amount: eur(0), idempotencyKey: "" }),
          ["order", "amount.amount_minor", "idempotency_key"],
        ],
        [
          client.charge({ order: "orders/1", amount: { currencyCode: "euro", amountMinor: 5 }, idempotencyKey: "k" }),
          ["amount.currency_code"],
        ],
        [client.charge({ order: "orders/1", idempotencyKey: "k" }), ["amount"]],
        [client.charge({ order: "orders/1", amount: eur(-5), idempotencyKey: "k" }), ["amount.amount_minor"]],
        [client.charge({ order: "orders/1", amount: eur(100_000_001), idempotencyKey: "k" }), ["amount.amount_minor"]],
        [client.charge({ order: "orders/1", amount: eur(100), idempotencyKey: "k".repeat(129) }), ["idempotency_key"]],
        [
          client.charge({
            order: "payments/0b7c3b8e-1c7e-4a59-9d1e-6f3f3c1e2a40",
            amount: eur(100),
            idempotencyKey: "k",
          }),
          ["order"],
        ],
        [client.getPayment({ name: "payments/42" }), ["name"]],
        [client.refund({ name: "" }), ["name"]],
      ] as const;
      for (const [call, fields] of cases) {
        const error = await grpcErrorOf(call);
        assert.equal(error.code, Status.INVALID_ARGUMENT, error.message);
        assert.deepEqual(
          error.detail("BadRequest")?.fieldViolations.map((v) => v.field),
          fields,
        );
      }
      const missing = await grpcErrorOf(client.getPayment({ name: "payments/00000000-0000-4000-8000-000000000000" }));
      assert.equal(missing.code, Status.NOT_FOUND);
      assert.equal(await count("payments"), 0);
    });
  });

describe("payment events through NATS JetStream", () => {
  it("migrates its outbox to the shape the kit's relay is tested on", async () => {
    const { pool, schema } = await paymentService();
    await assertOutboxShapedLikeKits(pool, schema);
  });

  it("publishes PaymentSucceeded for a charge, once, with the outbox row marked", async () => {
    const { client, pool } = await paymentService({ NATS_URL: testNatsUrl(), OUTBOX_POLL_MS: "20" });
    const { payment } = await client.charge({ order: "orders/o-6", amount: eur(4200), idempotencyKey: "k-6" });

    const event = await nextEvent(testNatsUrl(), "LATTICE_PAYMENT", {
      subject: "lattice.payment.v1.PaymentSucceeded",
      match: ({ data }) => PaymentSucceeded.decode(data).payment?.name === payment!.name,
    });
    assert.equal(PaymentSucceeded.decode(event.data).payment?.amount?.amountMinor, 4200);
    // The relay marks the row once JetStream has acknowledged the event, so just after it can be seen there.
    await eventually(async () => {
      const waiting = await pool.query("SELECT 1 FROM outbox WHERE published_at IS NULL");
      assert.equal(waiting.rowCount, 0);
    });
  });
});
