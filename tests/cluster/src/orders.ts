import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient, GrpcError, Status } from "@lattice/kit";
import { OrderServiceService, OrderState, type Order } from "@lattice/proto/lattice/order/v1/order";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";

export const euros = (amountMinor: number) => ({ currencyCode: "EUR", amountMinor });

/** Clients of order and user at a gRPC address (e.g. the node port of order, the port-forward of user). */
export function shopClients(orderAddress: string, userAddress = orderAddress) {
  const orders = createClient(OrderServiceService, orderAddress, { defaultTimeoutMs: 15_000 });
  const users = createClient(UserServiceService, userAddress, { defaultTimeoutMs: 15_000 });
  return {
    orders,
    users,
    close() {
      orders.close();
      users.close();
    },
  };
}

/** A new user through `users`, for the orders of a test. */
export async function newUser(users: ReturnType<typeof shopClients>["users"]): Promise<string> {
  const { user } = await users.createUser({
    user: { name: "", email: `ada-${randomUUID()}@example.org`, displayName: "Ada", etag: "" },
  });
  if (!user) throw new Error("CreateUser answered without a user");
  return user.name;
}

/**
 * The first CreateOrder after a release came up, sent again while it fails UNAVAILABLE, for at most `withinMs`:
 * Ready pods are not yet reachable peers — their EndpointSlices, then cluster DNS and kube-proxy's rules, follow a
 * moment later, and a freshly deployed order saw its peer's ClusterIP refuse in that moment. Any other failure, and
 * whatever state the order ends in, is the test's to judge.
 */
export async function firstOrder(
  orders: ReturnType<typeof shopClients>["orders"],
  request: Parameters<ReturnType<typeof shopClients>["orders"]["createOrder"]>[0],
  withinMs = 30_000,
): Promise<Order | undefined> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return (await orders.createOrder(request)).order;
    } catch (error) {
      if (!(error instanceof GrpcError) || error.code !== Status.UNAVAILABLE || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

export interface LoadFigures {
  readonly calls: number;
  readonly paid: number;
  readonly failed: number;
  /** gRPC code or order state of each failure, counted. */
  readonly failures: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Drives CreateOrder without pause from `callers` concurrent callers until stop() is called; each call that does
 * not end PAID (an error, or another state) is a failure. Bounded: every caller stops at stop() or after maxMs.
 */
export function driveOrders(
  orders: ReturnType<typeof shopClients>["orders"],
  user: string,
  callers: number,
  maxMs = 180_000,
): { stop(): Promise<LoadFigures> } {
  let stopping = false;
  const started = Date.now();
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let paid = 0;
  const caller = async () => {
    while (!stopping && Date.now() - started < maxMs) {
      const at = performance.now();
      const failedBefore = Object.values(failures).reduce((sum, count) => sum + count, 0);
      try {
        const { order } = await orders.createOrder({
          user,
          items: [{ sku: "book-1", quantity: 1, unitPrice: euros(1250) }],
        });
        if (order?.state === OrderState.ORDER_STATE_PAID) paid += 1;
        else {
          const state = `state ${OrderState[order?.state ?? OrderState.ORDER_STATE_UNSPECIFIED]}`;
          failures[state] = (failures[state] ?? 0) + 1;
        }
      } catch (error) {
        const key = error instanceof GrpcError ? `${error.code}: ${error.message.slice(0, 120)}` : String(error);
        failures[key] = (failures[key] ?? 0) + 1;
      }
      latencies.push(performance.now() - at);
      // A failed call is counted; the caller then pauses a moment instead of spinning on an error that comes back
      // at once (a refused connection), which would starve everything else in this process.
      const failedNow = Object.values(failures).reduce((sum, count) => sum + count, 0) > failedBefore;
      if (failedNow && performance.now() - at < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const running = Array.from({ length: callers }, () => caller());
  return {
    async stop() {
      stopping = true;
      await Promise.all(running);
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
      const failed = Object.values(failures).reduce((sum, count) => sum + count, 0);
      return { calls: latencies.length, paid, failed, failures, p50Ms: at(0.5), p99Ms: at(0.99) };
    },
  };
}
