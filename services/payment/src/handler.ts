import type { ServiceImplementation } from "@lattice/kit";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { paymentName } from "./names.js";
import type { Payments } from "./payments.js";
import { toProto } from "./proto-mapping.js";

/** Transport only: resource names and messages in and out; the rules live in payments.ts. */
export function paymentHandler(payments: Payments): ServiceImplementation<typeof PaymentServiceService> {
  return {
    async charge(request, ctx) {
      const payment = await payments.charge(
        { order: request.order, amount: request.amount, idempotencyKey: request.idempotencyKey },
        ctx.signal,
      );
      return { payment: toProto(payment) };
    },

    async getPayment({ name }) {
      return { payment: toProto(await payments.get(paymentName.parse(name, "name"))) };
    },

    async refund({ name }, ctx) {
      return { payment: toProto(await payments.refund(paymentName.parse(name, "name"), ctx.signal)) };
    },
  };
}
