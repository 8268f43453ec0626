import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotFoundError, PreconditionError, UnavailableError, ValidationError } from "@lattice/kit";
import {
  AMOUNT_MAX_MINOR,
  Payments,
  type ChargeOutcome,
  type Money,
  type Payment,
  type PaymentRepository,
  type Processor,
} from "../src/payments.js";

/**
 * Payments in a map, with the contract PgPaymentRepository fulfils against PostgreSQL
 * (payment-service.integration.test.ts): one payment per idempotency key, concurrent callers with a key wait for the
 * first and get its payment replayed, a failed settle stores nothing, and refunds move only succeeded payments.
 */
class MemoryPayments implements PaymentRepository {
  readonly rows = new Map<string, Payment>();
  private readonly byKey = new Map<string, Promise<Payment>>();

  async chargeOnce(draft: Payment, settle: () => Promise<ChargeOutcome>) {
    const claimed = this.byKey.get(draft.idempotencyKey);
    if (claimed) return { payment: await claimed, replayed: true };
    const charging = (async () => {
      const outcome = await settle();
      const payment: Payment = {
        ...draft,
        state: outcome.approved ? "succeeded" : "declined",
        declineReason: outcome.approved ? "" : outcome.reason,
      };
      this.rows.set(payment.id, payment);
      return payment;
    })();
    this.byKey.set(draft.idempotencyKey, charging);
    try {
      return { payment: await charging, replayed: false };
    } catch (error) {
      // Rolled back: the key is free again.
      this.byKey.delete(draft.idempotencyKey);
      throw error;
    }
  }

  get(id: string) {
    return Promise.resolve(this.rows.get(id));
  }

  async refundOnce(id: string, refund: (payment: Payment) => Promise<void>, now: Date) {
    const current = this.rows.get(id);
    if (!current) return undefined;
    await refund(current);
    if (current.state !== "succeeded") return current;
    const refunded: Payment = { ...current, state: "refunded", updateTime: now };
    this.rows.set(id, refunded);
    return refunded;
  }
}

/** Records every call; approves, declines or fails as `outcome` says. */
class FakeProcessor implements Processor {
  readonly charges: { key: string; amount: Money; signal: AbortSignal | undefined }[] = [];
  readonly refunds: { paymentId: string; amount: Money }[] = [];
  outcome: ChargeOutcome | Error = { approved: true };

  async charge(idempotencyKey: string, amount: Money, signal?: AbortSignal) {
    this.charges.push({ key: idempotencyKey, amount, signal });
    // Answers on a later turn, as a processor over the network does, so concurrent callers overlap.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.outcome instanceof Error) throw this.outcome;
    return this.outcome;
  }

  refund(paymentId: string, amount: Money) {
    this.refunds.push({ paymentId, amount });
    return Promise.resolve();
  }
}

/** The rules over fresh fakes, with a clock that moves one second at each reading. */
function setup() {
  const repository = new MemoryPayments();
  const processor = new FakeProcessor();
  let tick = 0;
  const now = () => new Date(Date.UTC(2025, 0, 1) + ++tick * 1000);
  return { repository, processor, payments: new Payments(repository, processor, now) };
}

const eur = (amountMinor: number): Money => ({ currencyCode: "EUR", amountMinor });
const ORDER = "orders/0b7c3b8e-1c7e-4a59-9d1e-6f3f3c1e2a40";
const OTHER_ORDER = "orders/5d0c1f8a-7a51-4d0e-9a3e-2f5c8e1b9d77";

function fields(error: unknown): string[] {
  assert.ok(error instanceof ValidationError, String(error));
  return error.violations.map((v) => v.field);
}

describe("payment rules: charge", () => {
  it("charges through the processor once and records a SUCCEEDED payment", async () => {
    const { payments, processor, repository } = setup();
    const signal = new AbortController().signal;
    const payment = await payments.charge({ order: ORDER, amount: eur(1999), idempotencyKey: "k-1" }, signal);
    assert.equal(payment.state, "succeeded");
    assert.equal(payment.order, ORDER);
    assert.deepEqual(payment.amount, eur(1999));
    assert.equal(payment.idempotencyKey, "k-1");
    assert.equal(payment.declineReason, "");
    assert.deepEqual(processor.charges, [{ key: "k-1", amount: eur(1999), signal }], "the caller's signal goes along");
    assert.deepEqual(await repository.get(payment.id), payment);
  });

  it("replays the payment for a repeated key, concurrent or later, without charging again", async () => {
    const { payments, processor, repository } = setup();
    const request = { order: ORDER, amount: eur(500), idempotencyKey: "k-2" };
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => payments.charge(request)));
    for (const payment of concurrent) assert.deepEqual(payment, concurrent[0]);
    assert.deepEqual(await payments.charge(request), concurrent[0]);
    assert.equal(processor.charges.length, 1);
    assert.equal(repository.rows.size, 1);
  });

  it("refuses a key reused for another amount or order with PreconditionError, charging nothing more", async () => {
    const { payments, processor } = setup();
    await payments.charge({ order: ORDER, amount: eur(500), idempotencyKey: "k-3" });
    for (const reuse of [
      { order: ORDER, amount: eur(501), idempotencyKey: "k-3" },
      { order: ORDER, amount: { currencyCode: "USD", amountMinor: 500 }, idempotencyKey: "k-3" },
      { order: OTHER_ORDER, amount: eur(500), idempotencyKey: "k-3" },
    ])
      await assert.rejects(payments.charge(reuse), (error) => {
        assert.ok(error instanceof PreconditionError);
        assert.equal(error.type, "IDEMPOTENCY_KEY_REUSED");
        assert.equal(error.subject, "idempotency_key k-3");
        return true;
      });
    assert.equal(processor.charges.length, 1);
  });

  it("records a declined charge as DECLINED with the processor's reason", async () => {
    const { payments, processor } = setup();
    processor.outcome = { approved: false, reason: "card declined" };
    const payment = await payments.charge({ order: ORDER, amount: eur(100), idempotencyKey: "k-4" });
    assert.equal(payment.state, "declined");
    assert.equal(payment.declineReason, "card declined");
    assert.deepEqual(await payments.get(payment.id), payment);
  });

  it("records nothing when the processor fails, so a retry with the same key charges", async () => {
    const { payments, processor, repository } = setup();
    const outage = new UnavailableError("payment processor unavailable", 1000);
    processor.outcome = outage;
    const request = { order: ORDER, amount: eur(100), idempotencyKey: "k-5" };
    await assert.rejects(payments.charge(request), (error) => error === outage);
    assert.equal(repository.rows.size, 0);

    processor.outcome = { approved: true };
    assert.equal((await payments.charge(request)).state, "succeeded");
    assert.equal(processor.charges.length, 2);
  });

  it("refuses an amount over the processor's limit, charging nothing", async () => {
    // The contract's field rules (order name, currency, positive amount, idempotency key) are enforced by the kit
    // before a request gets here: payment-service.integration.test.ts checks them through real calls.
    const { payments, processor, repository } = setup();
    const cases: [Parameters<Payments["charge"]>[0], string[]][] = [
      [{ order: ORDER, amount: undefined, idempotencyKey: "k" }, ["amount"]],
      [{ order: ORDER, amount: eur(AMOUNT_MAX_MINOR + 1), idempotencyKey: "k" }, ["amount.amount_minor"]],
    ];
    for (const [request, expected] of cases)
      await assert.rejects(payments.charge(request), (error) => {
        assert.deepEqual(fields(error), expected);
        return true;
      });
    assert.equal(processor.charges.length, 0);
    assert.equal(repository.rows.size, 0);

    // The bounds themselves are allowed.
    const edge = await payments.charge({
      order: ORDER,
      amount: eur(AMOUNT_MAX_MINOR),
      idempotencyKey: "k".repeat(128),
    });
    assert.equal(edge.state, "succeeded");
  });
});

describe("payment rules: get and refund", () => {
  it("answers an unknown payment with NotFoundError", async () => {
    const { payments } = setup();
    const missing = "00000000-0000-4000-8000-000000000000";
    await assert.rejects(payments.get(missing), (error) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.resourceName, `payments/${missing}`);
      return true;
    });
    await assert.rejects(payments.refund(missing), NotFoundError);
  });

  it("refunds a SUCCEEDED payment through the processor once; a second refund changes nothing", async () => {
    const { payments, processor } = setup();
    const payment = await payments.charge({ order: ORDER, amount: eur(700), idempotencyKey: "k-6" });
    const refunded = await payments.refund(payment.id);
    assert.equal(refunded.state, "refunded");
    assert.ok(refunded.updateTime > payment.updateTime);
    assert.deepEqual({ ...refunded, state: payment.state, updateTime: payment.updateTime }, payment);
    assert.deepEqual(processor.refunds, [{ paymentId: payment.id, amount: eur(700) }]);

    assert.deepEqual(await payments.refund(payment.id), refunded);
    assert.deepEqual(await payments.get(payment.id), refunded);
    assert.equal(processor.refunds.length, 1);
  });

  it("refuses to refund a DECLINED payment with PreconditionError, changing nothing", async () => {
    const { payments, processor } = setup();
    processor.outcome = { approved: false, reason: "card declined" };
    const payment = await payments.charge({ order: ORDER, amount: eur(100), idempotencyKey: "k-7" });
    await assert.rejects(payments.refund(payment.id), (error) => {
      assert.ok(error instanceof PreconditionError);
      assert.equal(error.type, "PAYMENT_STATE");
      assert.equal(error.subject, `payments/${payment.id}`);
      return true;
    });
    assert.deepEqual(await payments.get(payment.id), payment);
    assert.equal(processor.refunds.length, 0);
  });
});
