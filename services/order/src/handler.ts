import {
  pageTokenOf,
  parsePageToken,
  ValidationError,
  type CallContext,
  type ServiceImplementation,
} from "@lattice/kit";
import { OrderServiceService, type OrderItem as ProtoItem } from "@lattice/proto/lattice/order/v1/order";
import type { CallScope, OrderItem, Orders } from "./orders.js";
import { toProto } from "./proto-mapping.js";

/** Transport only: names, page tokens and messages in and out; the rules live in orders.ts. */
export function orderHandler(orders: Orders): ServiceImplementation<typeof OrderServiceService> {
  return {
    async createOrder({ user, items }, ctx) {
      const userId = /^users\/([^/]+)$/.exec(user)?.[1];
      return { order: toProto(await orders.create(userId, items.map(toItem), scopeOf(ctx))) };
    },

    async getOrder({ name }) {
      return { order: toProto(await orders.get(idOf(name))) };
    },

    async listOrders({ user, pageSize, pageToken }) {
      const userId = /^users\/([0-9a-f-]{36})$/.exec(user)?.[1];
      if (!userId) throw new ValidationError([{ field: "user", description: 'must be "users/{id}"' }]);
      const page = await orders.list(userId, pageSize, parsePageToken(pageToken));
      return {
        orders: page.orders.map(toProto),
        nextPageToken: pageTokenOf(page.after),
      };
    },

    async cancelOrder({ name }) {
      return { order: toProto(await orders.cancel(idOf(name))) };
    },

    async *watchOrder({ name }, ctx) {
      for await (const order of orders.watch(idOf(name), ctx.signal)) yield { order: toProto(order) };
    },
  };
}

function scopeOf(ctx: CallContext): CallScope {
  return { signal: ctx.signal, deadline: ctx.deadline };
}

function toItem(item: ProtoItem): OrderItem {
  return {
    sku: item.sku,
    quantity: item.quantity,
    unitPrice: { currencyCode: item.unitPrice?.currencyCode ?? "", amountMinor: item.unitPrice?.amountMinor ?? 0 },
  };
}

function idOf(name: string): string {
  const match = /^orders\/([0-9a-f-]{36})$/.exec(name);
  if (!match) throw new ValidationError([{ field: "name", description: 'must be "orders/{id}"' }]);
  return match[1]!;
}
