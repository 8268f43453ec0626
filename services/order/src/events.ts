import { PoisonEventError, type ReceivedEvent } from "@lattice/kit";
import {
  PaymentDeclined,
  PaymentSucceeded,
  protobufPackage as paymentEvents,
} from "@lattice/proto/lattice/payment/v1/events";
import { orderName, paymentName } from "./names.js";
import type { Orders } from "./orders.js";

/** Subjects of the payment events orders consume (each is the event's full message name). */
export const PAYMENT_SUCCEEDED = `${paymentEvents}.PaymentSucceeded`;
export const PAYMENT_DECLINED = `${paymentEvents}.PaymentDeclined`;

/**
 * Settles orders still PENDING (their caller left mid-charge) from the payment service's events; idempotent, so a
 * redelivered event changes nothing. Events for payments not made by the order service are ignored; events that do
 * not decode are poison (dead-lettered at once, never retried).
 */
export function settleFromPayments(orders: Orders): (event: ReceivedEvent) => Promise<void> {
  return async ({ subject, data }) => {
    const { payment } = decode(subject, data);
    // Charges for orders this service did not make (other callers of the payment service use their own ids) are
    // not its business: acknowledged and skipped, never retried.
    if (!payment || orderName.violation(payment.order, "order") || paymentName.violation(payment.name, "name")) return;
    await orders.settleFromPayment(
      orderName.parse(payment.order, "payment.order"),
      paymentName.parse(payment.name, "payment.name"),
      subject === PAYMENT_SUCCEEDED,
    );
  };
}

function decode(subject: string, data: Uint8Array): PaymentSucceeded | PaymentDeclined {
  try {
    return subject === PAYMENT_SUCCEEDED ? PaymentSucceeded.decode(data) : PaymentDeclined.decode(data);
  } catch (error) {
    throw new PoisonEventError(`${subject} does not decode`, { cause: error });
  }
}
