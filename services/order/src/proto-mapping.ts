import { OrderState as ProtoState, type Order as ProtoOrder } from "@lattice/proto/lattice/order/v1/order";
import { orderName, paymentName, userName } from "./names.js";
import type { Order, OrderState } from "./orders.js";

const STATES: Readonly<Record<OrderState, ProtoState>> = {
  pending: ProtoState.ORDER_STATE_PENDING,
  paid: ProtoState.ORDER_STATE_PAID,
  payment_failed: ProtoState.ORDER_STATE_PAYMENT_FAILED,
  cancelled: ProtoState.ORDER_STATE_CANCELLED,
};

/** An order as the contract (and its events) carry it. */
export function toProto(order: Order): ProtoOrder {
  return {
    name: orderName.format(order.id),
    user: userName.format(order.userId),
    items: order.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPrice: { ...item.unitPrice } })),
    total: { ...order.total },
    state: STATES[order.state],
    payment: order.paymentId ? paymentName.format(order.paymentId) : "",
    createTime: order.createTime,
    updateTime: order.updateTime,
  };
}
