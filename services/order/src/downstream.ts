import {
  createClient,
  GrpcError,
  Status,
  type CallOptions,
  type ClientOptions,
  type ServiceClient,
} from "@lattice/kit";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import type { CallScope, Money, PaymentGateway, UserDirectory } from "./orders.js";

/** The caller's deadline and cancellation, on a downstream call. */
function optionsOf(scope: CallScope): CallOptions {
  return { signal: scope.signal, ...(scope.deadline ? { deadline: scope.deadline } : { timeoutMs: 10_000 }) };
}

/** UserService over gRPC. */
export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly client: ServiceClient<typeof UserServiceService>) {}

  static connect(address: string, options?: ClientOptions): GrpcUserDirectory {
    return new GrpcUserDirectory(createClient(UserServiceService, address, options));
  }

  async exists(userId: string, scope: CallScope): Promise<boolean> {
    try {
      await this.client.getUser({ name: `users/${userId}` }, optionsOf(scope));
      return true;
    } catch (error) {
      if (error instanceof GrpcError && error.code === Status.NOT_FOUND) return false;
      throw error;
    }
  }

  close(): void {
    this.client.close();
  }
}

/** PaymentService over gRPC; the order id is the idempotency key, so retries never charge twice. */
export class GrpcPaymentGateway implements PaymentGateway {
  constructor(private readonly client: ServiceClient<typeof PaymentServiceService>) {}

  static connect(address: string, options?: ClientOptions): GrpcPaymentGateway {
    return new GrpcPaymentGateway(createClient(PaymentServiceService, address, options));
  }

  async charge(orderId: string, total: Money, scope: CallScope) {
    const order = `orders/${orderId}`;
    const { payment } = await this.client.charge({ order, amount: total, idempotencyKey: order }, optionsOf(scope));
    return {
      paymentId: payment?.name.replace(/^payments\//, "") ?? "",
      approved: payment?.state === PaymentState.PAYMENT_STATE_SUCCEEDED,
    };
  }

  close(): void {
    this.client.close();
  }
}
