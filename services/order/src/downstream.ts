import { GrpcError, OutcomeUnknownError, Status, type ServiceClient } from "@lattice/kit";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { orderName, paymentName, userName } from "./names.js";
import type { Money, PaymentGateway, UserDirectory } from "./orders.js";

/**
 * The order rules' view of the user and payment services, over gRPC. Deadlines, cancellation and the request id of
 * the call being handled reach these calls by themselves (Lattice clients inherit them).
 */

/** UserService over gRPC. */
export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly client: ServiceClient<typeof UserServiceService>) {}

  async exists(userId: string): Promise<boolean> {
    try {
      await this.client.getUser({ name: userName.format(userId) });
      return true;
    } catch (error) {
      if (error instanceof GrpcError && error.code === Status.NOT_FOUND) return false;
      throw error;
    }
  }
}

/** PaymentService over gRPC; the order name is the idempotency key, so retries never charge twice. */
export class GrpcPaymentGateway implements PaymentGateway {
  constructor(private readonly client: ServiceClient<typeof PaymentServiceService>) {}

  async charge(orderId: string, total: Money) {
    const order = orderName.format(orderId);
    try {
      const { payment } = await this.client.charge({ order, amount: total, idempotencyKey: order });
      return {
        paymentId: payment ? paymentName.parse(payment.name, "payment.name") : "",
        approved: payment?.state === PaymentState.PAYMENT_STATE_SUCCEEDED,
      };
    } catch (error) {
      // Abandoned part-way: the charge may have gone through.
      if (error instanceof GrpcError && (error.code === Status.DEADLINE_EXCEEDED || error.code === Status.CANCELLED))
        throw new OutcomeUnknownError(`the charge of ${order} did not finish: ${error.message}`, { cause: error });
      throw error;
    }
  }
}
