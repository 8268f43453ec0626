import { ValidationError, type ServiceImplementation } from "@lattice/kit";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
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
      return { payment: toProto(await payments.get(idOf(name))) };
    },

    async refund({ name }, ctx) {
      return { payment: toProto(await payments.refund(idOf(name), ctx.signal)) };
    },
  };
}

const NAME = /^payments\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function idOf(name: string): string {
  const match = NAME.exec(name);
  if (!match) throw new ValidationError([{ field: "name", description: 'must be "payments/{id}"' }]);
  return match[1]!;
}
