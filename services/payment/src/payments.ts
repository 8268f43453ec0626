import { randomUUID } from "node:crypto";
import { NotFoundError, PreconditionError, ValidationError } from "@lattice/kit";
import { paymentName } from "./names.js";

export type PaymentState = "succeeded" | "declined" | "refunded";

export interface Money {
  readonly currencyCode: string;
  readonly amountMinor: number;
}

export interface Payment {
  readonly id: string;
  readonly order: string;
  readonly amount: Money;
  readonly state: PaymentState;
  readonly idempotencyKey: string;
  readonly declineReason: string;
  readonly createTime: Date;
  readonly updateTime: Date;
}

/** What the processor said about a charge. */
export type ChargeOutcome = { readonly approved: true } | { readonly approved: false; readonly reason: string };

/** The payment processor. Both calls are idempotent by key, as real processors' APIs are. */
export interface Processor {
  charge(idempotencyKey: string, amount: Money, signal?: AbortSignal): Promise<ChargeOutcome>;
  refund(paymentId: string, amount: Money, signal?: AbortSignal): Promise<void>;
}

export interface PaymentRepository {
  /**
   * Records a charge exactly once per idempotency key. The first caller with a key gets `settle` run (the
   * processor call) and its outcome stored, with its event, in one transaction; concurrent and later callers with
   * that key wait for it and get the stored payment with `replayed: true`.
   */
  chargeOnce(draft: Payment, settle: () => Promise<ChargeOutcome>): Promise<{ payment: Payment; replayed: boolean }>;
  get(id: string): Promise<Payment | undefined>;
  /** Moves a succeeded payment to refunded, running `refund` (the processor call) under the row's lock. */
  refundOnce(id: string, refund: (payment: Payment) => Promise<void>, now: Date): Promise<Payment | undefined>;
}

export const AMOUNT_MAX_MINOR = 100_000_000;

export class Payments {
  constructor(
    private readonly repository: PaymentRepository,
    private readonly processor: Processor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async charge(
    request: { order: string; amount: Money | undefined; idempotencyKey: string },
    signal?: AbortSignal,
  ): Promise<Payment> {
    // The contract's rules (order name, currency, a positive amount, idempotency key) hold here; this limit is the
    // processor's.
    const amount = request.amount;
    if (!amount) throw new ValidationError([{ field: "amount", description: "is required" }]);
    if (amount.amountMinor > AMOUNT_MAX_MINOR)
      throw new ValidationError([
        { field: "amount.amount_minor", description: `must be at most ${AMOUNT_MAX_MINOR} (the processor's limit)` },
      ]);

    const now = this.now();
    const draft: Payment = {
      id: randomUUID(),
      order: request.order,
      amount,
      state: "declined",
      idempotencyKey: request.idempotencyKey,
      declineReason: "",
      createTime: now,
      updateTime: now,
    };
    const { payment, replayed } = await this.repository.chargeOnce(draft, () =>
      this.processor.charge(request.idempotencyKey, amount, signal),
    );
    if (replayed && (payment.order !== request.order || !sameMoney(payment.amount, amount)))
      throw new PreconditionError(
        "IDEMPOTENCY_KEY_REUSED",
        `idempotency_key ${request.idempotencyKey}`,
        "this idempotency key was used for a different order or amount",
      );
    return payment;
  }

  async get(id: string): Promise<Payment> {
    const payment = await this.repository.get(id);
    if (!payment) throw new NotFoundError("payment", paymentName.format(id));
    return payment;
  }

  async refund(id: string, signal?: AbortSignal): Promise<Payment> {
    const payment = await this.repository.refundOnce(
      id,
      async (current) => {
        if (current.state === "declined")
          throw new PreconditionError("PAYMENT_STATE", paymentName.format(id), "a declined payment cannot be refunded");
        if (current.state === "succeeded") await this.processor.refund(current.id, current.amount, signal);
      },
      this.now(),
    );
    if (!payment) throw new NotFoundError("payment", paymentName.format(id));
    return payment;
  }
}

function sameMoney(a: Money, b: Money): boolean {
  return a.currencyCode === b.currencyCode && a.amountMinor === b.amountMinor;
}
