import { pageTokenOf, parsePageToken, type ServiceImplementation } from "@lattice/kit";
import { OrderServiceService, type OrderItem as ProtoItem } from "@lattice/proto/lattice/order/v1/order";
import { orderName, userName } from "./names.js";
import type { OrderItem, Orders } from "./orders.js";
import { toProto } from "./proto-mapping.js";

/** Transport only: names, page tokens and messages in and out; the rules live in orders.ts. */
export function orderHandler(orders: Orders): ServiceImplementation<typeof OrderServiceService> {
  return {
    async createOrder({ user, items }) {
      return { order: toProto(await orders.create(user, items.map(toItem))) };
    },

    async getOrder({ name }) {
      return { order: toProto(await orders.get(orderName.parse(name, "name"))) };
    },

    async listOrders({ user, pageSize, pageToken }) {
      const page = await orders.list(userName.parse(user, "user"), pageSize, parsePageToken(pageToken));
      return { orders: page.orders.map(toProto), nextPageToken: pageTokenOf(page.after) };
    },

    async cancelOrder({ name }) {
      return { order: toProto(await orders.cancel(orderName.parse(name, "name"))) };
    },

    async *watchOrder({ name }, ctx) {
      for await (const order of orders.watch(orderName.parse(name, "name"), ctx.signal))
        yield { order: toProto(order) };
    },
  };
}

function toItem(item: ProtoItem): OrderItem {
  return {
    sku: item.sku,
    quantity: item.quantity,
    unitPrice: { currencyCode: item.unitPrice?.currencyCode ?? "", amountMinor: item.unitPrice?.amountMinor ?? 0 },
  };
}
