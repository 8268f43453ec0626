import { PaymentState as ProtoState, type Payment as ProtoPayment } from "@lattice/proto/lattice/payment/v1/payment";
import { paymentName } from "./names.js";
import type { Payment, PaymentState } from "./payments.js";

const STATES: Readonly<Record<PaymentState, ProtoState>> = {
  succeeded: ProtoState.PAYMENT_STATE_SUCCEEDED,
  declined: ProtoState.PAYMENT_STATE_DECLINED,
  refunded: ProtoState.PAYMENT_STATE_REFUNDED,
};

/** A payment as the contract (and its events) carry it. */
export function toProto(payment: Payment): ProtoPayment {
  return {
    name: paymentName.format(payment.id),
    order: payment.order,
    amount: { currencyCode: payment.amount.currencyCode, amountMinor: payment.amount.amountMinor },
    state: STATES[payment.state],
    idempotencyKey: payment.idempotencyKey,
    declineReason: payment.declineReason,
    createTime: payment.createTime,
    updateTime: payment.updateTime,
  };
}
