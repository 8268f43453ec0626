import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PoisonEventError } from "@lattice/kit";
import { PaymentDeclined, PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { PaymentState, type Payment } from "@lattice/proto/lattice/payment/v1/payment";
import { PAYMENT_DECLINED, PAYMENT_SUCCEEDED, settleFromPayments } from "../src/events.js";
import type { Orders } from "../src/orders.js";

const ORDER_ID = "7a0c2a4e-5f7b-4a8c-9b0d-1e2f3a4b5c6d";
const PAYMENT_ID = "0b7c3b8e-1c7e-4a59-9d1e-6f3f3c1e2a40";

function payment(order: string): Payment {
  return {
    name: `payments/${PAYMENT_ID}`,
    order,
    amount: { currencyCode: "EUR", amountMinor: 990 },
    state: PaymentState.PAYMENT_STATE_SUCCEEDED,
    idempotencyKey: order,
    declineReason: "",
    createTime: new Date(0),
    updateTime: new Date(0),
  };
}

describe("settling orders from payment events", () => {
  const settled: [string, string, boolean][] = [];
  const orders = {
    settleFromPayment: async (orderId: string, paymentId: string, approved: boolean) =>
      void settled.push([orderId, paymentId, approved]),
  } as unknown as Orders;
  const handle = settleFromPayments(orders);

  it("settles the order a succeeded or declined payment was for", async () => {
    settled.length = 0;
    const data = PaymentSucceeded.encode({ eventId: "e1", payment: payment(`orders/${ORDER_ID}`) }).finish();
    await handle({ subject: PAYMENT_SUCCEEDED, data });
    const declined = PaymentDeclined.encode({ eventId: "e2", payment: payment(`orders/${ORDER_ID}`) }).finish();
    await handle({ subject: PAYMENT_DECLINED, data: declined });
    assert.deepEqual(settled, [
      [ORDER_ID, PAYMENT_ID, true],
      [ORDER_ID, PAYMENT_ID, false],
    ]);
  });

  it("skips, without failing, payments for orders the order service could not have made", async () => {
    settled.length = 0;
    // The payment service accepts any caller's order ids; an event it cannot settle must not come back forever.
    for (const order of ["orders/o-6", "invoices/42", ""]) {
      const data = PaymentSucceeded.encode({ eventId: "e3", payment: payment(order) }).finish();
      await handle({ subject: PAYMENT_SUCCEEDED, data });
    }
    await handle({ subject: PAYMENT_SUCCEEDED, data: PaymentSucceeded.encode({ eventId: "e4" }).finish() });
    assert.deepEqual(settled, []);
  });

  it("rejects an event that does not decode as poison, so the consumer dead-letters it instead of retrying", async () => {
    settled.length = 0;
    // A length-delimited field (tag 1) claiming 100 bytes, followed by 2: it can never decode.
    const garbage = Uint8Array.from([0x0a, 0x64, 0x01, 0x02]);
    await assert.rejects(handle({ subject: PAYMENT_SUCCEEDED, data: garbage }), PoisonEventError);
    await assert.rejects(handle({ subject: PAYMENT_DECLINED, data: garbage }), PoisonEventError);
    assert.deepEqual(settled, []);
  });
});
