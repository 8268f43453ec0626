import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Status } from "@lattice/kit";
import {
  assertServing,
  contractViolations,
  dropSchema,
  eventually,
  fuzz,
  fuzzBudget,
  fuzzSeed,
  grpcMessages,
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

/** Answers after which the client cannot tell whether its call changed anything. */
const outcomeUnknown = (code: number | undefined) => code === Status.DEADLINE_EXCEEDED || code === Status.CANCELLED;

/** The events each final state leaves in the outbox, in the order they are written. */
const EVENTS_OF_STATE: Readonly<Record<string, readonly string[]>> = {
  succeeded: ["PaymentSucceeded"],
  declined: ["PaymentDeclined"],
  refunded: ["PaymentSucceeded", "PaymentRefunded"],
};
const DECODERS: Readonly<Record<string, (bytes: Uint8Array) => { payment?: { name: string } | undefined }>> = {
  PaymentSucceeded: (bytes) => PaymentSucceeded.decode(bytes),
  PaymentDeclined: (bytes) => PaymentDeclined.decode(bytes),
  PaymentRefunded: (bytes) => PaymentRefunded.decode(bytes),
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
    const seed = fuzzSeed();
    const budget = fuzzBudget({ inputs: 300, timeMs: 30_000 });
    t.diagnostic(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
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
    const charged = new Set<string>();
    const refunded = new Set<string>();
    let unknownCharges = 0;
    let unknownRefunds = 0;
    const report = await fuzz({
      address: service.grpcAddress,
      services: [PAYMENTS],
      seed,
      ...budget,
      seeds: {
        [CHARGE]: [charge("orders/fuzz-1", 1999, "fuzz-1"), charge("orders/o_2", AMOUNT_MAX_MINOR, "orders/o_2")],
        [`/${PAYMENTS}/GetPayment`]: seeded.map((name) => GetPaymentRequest.encode({ name }).finish()),
        [REFUND]: seeded.map((name) => RefundRequest.encode({ name }).finish()),
      },
      onResult(path, result) {
        const answer = grpcMessages(result.body)[0];
        if (path === CHARGE && result.code === Status.OK) charged.add(ChargeResponse.decode(answer!).payment!.name);
        else if (path === CHARGE && outcomeUnknown(result.code)) unknownCharges++;
        else if (path === REFUND && result.code === Status.OK)
          refunded.add(RefundResponse.decode(answer!).payment!.name);
        else if (path === REFUND && outcomeUnknown(result.code)) unknownRefunds++;
      },
    });
    t.diagnostic(`payment: ${report.inputs} inputs, codes ${JSON.stringify(report.codes)}`);
    t.diagnostic(`per method ${JSON.stringify(report.perMethod)}`);
    t.diagnostic(
      `charged ${charged.size}, refunded ${refunded.size}, unknown outcome ${unknownCharges + unknownRefunds}`,
    );
    assert.deepEqual(report.failures, [], `seed ${seed}`);
    assert.ok(report.inputs >= Math.min(budget.maxInputs, 50), `only ${report.inputs} inputs ran`);

    await assertServing(service, [PAYMENTS]);
    const { payment: after } = await payments.charge(chargeOf("orders/after", 1, "after"));
    assert.ok(after?.name);

    // Exactly the payments the OK answers account for (give or take calls of unknown outcome).
    const { rows } = await pool.query<PaymentRow>(
      "SELECT id, order_name, currency_code, amount_minor, state, idempotency_key FROM payments",
    );
    const stored = new Set(rows.map((row) => `payments/${row.id}`));
    const expected = new Set([...seeded, ...charged, after.name]);
    const extra = [...stored].filter((name) => !expected.has(name));
    assert.ok(extra.length <= unknownCharges, `seed ${seed}: payments no OK answer made: ${extra.join(", ")}`);
    assert.deepEqual(
      [...expected].filter((name) => !stored.has(name)),
      [],
      `seed ${seed}: answered payments not stored`,
    );
    const refundedRows = rows.filter((row) => row.state === "refunded").map((row) => `payments/${row.id}`);
    const unexplained = refundedRows.filter((name) => !refunded.has(name));
    assert.ok(
      unexplained.length <= unknownRefunds,
      `seed ${seed}: refunded without an OK refund: ${unexplained.join(", ")}`,
    );

    // Each one what an accepted charge makes: a request the contract allows, within the processor's limit, in a
    // final state, with exactly that state's events in the outbox.
    const { rows: outbox } = await pool.query<{ subject: string; payload: Buffer }>(
      "SELECT subject, payload FROM outbox ORDER BY created_at, id",
    );
    const events = new Map<string, string[]>();
    for (const { subject, payload } of outbox) {
      const kind = subject.replace(/^lattice\.payment\.v1\./, "");
      const decode = DECODERS[kind];
      assert.ok(decode, `seed ${seed}: unexpected event ${subject}`);
      const name = decode(payload).payment?.name ?? "";
      events.set(name, [...(events.get(name) ?? []), kind]);
    }
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
    await eventually(
      async () => {
        const { rows: unpublished } = await pool.query("SELECT id FROM outbox WHERE published_at IS NULL");
        assert.equal(unpublished.length, 0, "outbox events not published");
      },
      { withinMs: 15_000 },
    );
  });
});
