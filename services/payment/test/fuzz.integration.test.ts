import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
import { PaymentDeclined, PaymentRefunded, PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import {
  ChargeRequest,
  ChargeResponse,
  GetPaymentRequest,
  PaymentServiceService,
  RefundRequest,
  RefundResponse,
} from "@lattice/proto/lattice/payment/v1/payment";
import { paymentModule } from "../src/module.js";
import { AMOUNT_MAX_MINOR } from "../src/payments.js";

const PAYMENTS = "lattice.payment.v1.PaymentService";
const CHARGE = `/${PAYMENTS}/Charge`;
const REFUND = `/${PAYMENTS}/Refund`;

/** The events each final state leaves in the outbox, in the order they are written. */
const EVENTS_OF_STATE: Readonly<Record<string, readonly string[]>> = {
  succeeded: ["PaymentSucceeded"],
  declined: ["PaymentDeclined"],
  refunded: ["PaymentSucceeded", "PaymentRefunded"],
};
/** The payment each event kind is about. */
const PAYMENT_OF_EVENT: Readonly<Record<string, (payload: Uint8Array) => string>> = {
  PaymentSucceeded: (payload) => PaymentSucceeded.decode(payload).payment?.name ?? "",
  PaymentDeclined: (payload) => PaymentDeclined.decode(payload).payment?.name ?? "",
  PaymentRefunded: (payload) => PaymentRefunded.decode(payload).payment?.name ?? "",
};

interface PaymentRow {
  id: string;
  order_name: string;
  currency_code: string;
  amount_minor: string;
  state: string;
  idempotency_key: string;
}

describe("payment service under fuzzed requests, on PostgreSQL and NATS", () => {
  it("answers every input with a client's code, keeps serving, and stores only what accepted charges made", async (t) => {
    const run = startFuzzRun(t, { inputs: 300, timeMs: 30_000 });
    const { seed } = run;
    const url = testDatabaseUrl();
    const schema = uniqueSchema("payments_fuzz");
    await using service = await startTestService(paymentModule, {
      env: {
        DATABASE_URL: url,
        DATABASE_SCHEMA: schema,
        NATS_URL: testNatsUrl(),
        OUTBOX_POLL_MS: "50",
        PROCESSOR_LATENCY_MS: "5",
        PROCESSOR_DECLINE_RATE: "0.3",
      },
    });
    const pool = testPool(schema, url);
    t.after(async () => {
      await pool.end();
      await dropSchema(schema, url);
    });
    const payments = service.client(PaymentServiceService, { defaultTimeoutMs: 5000 });
    const chargeOf = (order: string, amountMinor: number, idempotencyKey: string, currencyCode = "EUR") => ({
      order,
      amount: { currencyCode, amountMinor },
      idempotencyKey,
    });
    const charge = (order: string, amountMinor: number, idempotencyKey: string) =>
      ChargeRequest.encode(chargeOf(order, amountMinor, idempotencyKey)).finish();
    const seeded: string[] = [];
    for (const i of [1, 2, 3]) {
      const { payment } = await payments.charge(chargeOf(`orders/seed-${i}`, 100 * i, `seed-${i}`));
      seeded.push(payment!.name);
    }

    // What the answers account for: payments made and refunded by OK answers, and calls of unknown outcome.
    const ledger = new OutcomeLedger();
    const report = await fuzz({
      address: service.grpcAddress,
      services: [PAYMENTS],
      ...run,
      seeds: {
        [CHARGE]: [charge("orders/fuzz-1", 1999, "fuzz-1"), charge("orders/o_2", AMOUNT_MAX_MINOR, "orders/o_2")],
        [`/${PAYMENTS}/GetPayment`]: seeded.map((name) => GetPaymentRequest.encode({ name }).finish()),
        [REFUND]: seeded.map((name) => RefundRequest.encode({ name }).finish()),
      },
      onResult(path, result) {
        const answer = () => grpcMessages(result.body)[0]!;
        if (path === CHARGE) ledger.record(path, result, () => ChargeResponse.decode(answer()).payment!.name);
        else if (path === REFUND) ledger.record(path, result, () => RefundResponse.decode(answer()).payment!.name);
      },
    });
    const [charged, refunded] = [ledger.named(CHARGE), ledger.named(REFUND)];
    const [unknownCharges, unknownRefunds] = [ledger.unknown(CHARGE), ledger.unknown(REFUND)];
    assertFuzzReport(t, "payment", run, report);
    t.diagnostic(
      `charged ${charged.size}, refunded ${refunded.size}, unknown outcome ${unknownCharges + unknownRefunds}`,
    );

    await assertServing(service, [PAYMENTS]);
    const { payment: after } = await payments.charge(chargeOf("orders/after", 1, "after"));
    assert.ok(after?.name);

    // Exactly the payments the OK answers account for (give or take calls of unknown outcome).
    const { rows } = await pool.query<PaymentRow>(
      "SELECT id, order_name, currency_code, amount_minor, state, idempotency_key FROM payments",
    );
    assertAccountedFor({
      seed,
      what: "payments",
      stored: rows.map((row) => `payments/${row.id}`),
      expected: [...seeded, ...charged, after.name],
      unknownMakes: unknownCharges,
    });
    const refundedRows = rows.filter((row) => row.state === "refunded").map((row) => `payments/${row.id}`);
    const unexplained = refundedRows.filter((name) => !refunded.has(name));
    assert.ok(
      unexplained.length <= unknownRefunds,
      `seed ${seed}: refunded without an OK refund: ${unexplained.join(", ")}`,
    );

    // Each one what an accepted charge makes: a request the contract allows, within the processor's limit, in a
    // final state, with exactly that state's events in the outbox.
    const events = eventsByName(await readOutbox(pool), "lattice.payment.v1.", PAYMENT_OF_EVENT);
    for (const row of rows) {
      const name = `payments/${row.id}`;
      const request = chargeOf(row.order_name, Number(row.amount_minor), row.idempotency_key, row.currency_code);
      const violations = contractViolations(CHARGE, ChargeRequest.encode(request).finish());
      assert.deepEqual(violations, [], `seed ${seed}: stored ${name}`);
      assert.ok(Number(row.amount_minor) <= AMOUNT_MAX_MINOR, `seed ${seed}: ${name} is over the processor's limit`);
      assert.deepEqual(events.get(name) ?? [], EVENTS_OF_STATE[row.state] ?? [`a state ${row.state}`], name);
      events.delete(name);
    }
    assert.deepEqual([...events.keys()], [], `seed ${seed}: events of payments not stored`);
    // And the relay published every one of them to NATS.
    await assertOutboxesPublished([pool]);
  });
});
