import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { describe, it } from "node:test";
import { NotFoundError, OutcomeUnknownError, PreconditionError, UnavailableError, ValidationError } from "@lattice/kit";
import {
  Orders,
  TERMINAL,
  type Money,
  type Order,
  type OrderItem,
  type OrderRepository,
  type OrderState,
  type PaymentGateway,
  type UserDirectory,
} from "../src/orders.js";

/**
 * Orders in a map, with the contract PgOrderRepository fulfils against PostgreSQL (orders-e2e.integration.test.ts):
 * list pages by insertion order, transition moves only from the given states, watch yields the order now and after
 * every change until it is terminal.
 */
class MemoryOrders implements OrderRepository {
  readonly rows = new Map<string, { seq: number; order: Order }>();
  private readonly changes = new EventEmitter().setMaxListeners(0);
  private seq = 0;

  insert(order: Order) {
    this.rows.set(order.id, { seq: ++this.seq, order });
    this.changes.emit(order.id);
    return Promise.resolve();
  }

  get(id: string) {
    return Promise.resolve(this.rows.get(id)?.order);
  }

  list(userId: string, limit: number, after: number | undefined) {
    const rows = [...this.rows.values()]
      .filter((row) => row.order.userId === userId && row.seq > (after ?? 0))
      .sort((a, b) => a.seq - b.seq);
    const page = rows.slice(0, limit);
    return Promise.resolve({
      orders: page.map((row) => row.order),
      after: rows.length > limit ? page[page.length - 1]!.seq : undefined,
    });
  }

  transition(id: string, from: readonly OrderState[], next: Order) {
    const row = this.rows.get(id);
    if (!row || !from.includes(row.order.state)) return Promise.resolve(undefined);
    row.order = { ...row.order, state: next.state, paymentId: next.paymentId, updateTime: next.updateTime };
    this.changes.emit(id);
    return Promise.resolve(row.order);
  }

  async *watch(id: string, signal: AbortSignal): AsyncGenerator<Order> {
    let last: Order | undefined;
    while (!signal.aborted) {
      // Subscribe before reading, so a change between the read and the wait is not missed.
      const next = once(this.changes, id, { signal }).catch(() => undefined);
      const current = this.rows.get(id)?.order;
      if (!current) return;
      if (current !== last) yield (last = current);
      if (TERMINAL.has(current.state)) return;
      await next;
    }
  }
}

class KnownUsers implements UserDirectory {
  readonly asked: string[] = [];
  constructor(private readonly ids: readonly string[]) {}
  exists(userId: string) {
    this.asked.push(userId);
    return Promise.resolve(this.ids.includes(userId));
  }
}

type Charge = PaymentGateway["charge"];

/** Records every charge and answers as `answer` says: approved by default. */
class FakePayments implements PaymentGateway {
  readonly charges: { orderId: string; total: Money; stateWhenCharged: OrderState | undefined }[] = [];
  constructor(
    private readonly orders: MemoryOrders,
    private readonly answer: Charge = (orderId) => Promise.resolve({ paymentId: `pay-${orderId}`, approved: true }),
  ) {}
  async charge(orderId: string, total: Money) {
    this.charges.push({ orderId, total, stateWhenCharged: (await this.orders.get(orderId))?.state });
    return this.answer(orderId, total);
  }
}

const ADA = "0b7c3b8e-1c7e-4a59-9d1e-6f3f3c1e2a40";
const BOB = "5d0c1f8a-7a51-4d0e-9a3e-2f5c8e1b9d77";
const book: OrderItem = { sku: "book-1", quantity: 2, unitPrice: { currencyCode: "EUR", amountMinor: 1250 } };
const pen: OrderItem = { sku: "pen_2", quantity: 1, unitPrice: { currencyCode: "EUR", amountMinor: 300 } };

/** The rules over fresh fakes, with a clock that moves one second at each reading. */
function setup(answer?: Charge) {
  const repository = new MemoryOrders();
  const users = new KnownUsers([ADA, BOB]);
  const payments = new FakePayments(repository, answer);
  let tick = 0;
  const now = () => new Date(Date.UTC(2025, 0, 1) + ++tick * 1000);
  return { repository, users, payments, orders: new Orders(repository, users, payments, now) };
}

/** An order left PENDING: its charge's outcome was unknown. */
async function pendingOrder(user = ADA) {
  const context = setup(() => Promise.reject(new OutcomeUnknownError("deadline exceeded during the charge")));
  await assert.rejects(context.orders.create(`users/${user}`, [book]), OutcomeUnknownError);
  const [row] = context.repository.rows.values();
  assert.equal(row?.order.state, "pending");
  return { ...context, order: row.order };
}

/** The order a watch yields next; fails if the watch ends instead. */
async function nextOrder(watch: AsyncGenerator<Order>): Promise<Order> {
  const result = await watch.next();
  assert.ok(result.done !== true, "the watch ended");
  return result.value;
}

function fields(error: unknown): string[] {
  assert.ok(error instanceof ValidationError, String(error));
  return error.violations.map((v) => v.field);
}

describe("order rules: create", () => {
  it("records the order PENDING, charges its total once, and returns it PAID", async () => {
    const { orders, repository, payments } = setup();
    const order = await orders.create(`users/${ADA}`, [book, pen]);

    assert.equal(order.state, "paid");
    assert.equal(order.userId, ADA);
    assert.deepEqual(order.items, [book, pen]);
    assert.deepEqual(order.total, { currencyCode: "EUR", amountMinor: 2800 });
    assert.equal(order.paymentId, `pay-${order.id}`);
    assert.ok(order.updateTime > order.createTime);
    assert.deepEqual(payments.charges, [{ orderId: order.id, total: order.total, stateWhenCharged: "pending" }]);
    assert.deepEqual(await repository.get(order.id), order);
  });

  it("returns a declined charge as PAYMENT_FAILED, with its payment", async () => {
    const { orders, repository } = setup((orderId) =>
      Promise.resolve({ paymentId: `pay-${orderId}`, approved: false }),
    );
    const order = await orders.create(`users/${ADA}`, [book]);
    assert.equal(order.state, "payment_failed");
    assert.equal(order.paymentId, `pay-${order.id}`);
    assert.equal((await repository.get(order.id))?.state, "payment_failed");
  });

  it("returns PAYMENT_FAILED, without a payment, when the charge definitely failed", async () => {
    for (const failure of [new UnavailableError("processor down", 1000), new Error("connection refused")]) {
      const { orders, repository } = setup(() => Promise.reject(failure));
      const order = await orders.create(`users/${ADA}`, [book]);
      assert.equal(order.state, "payment_failed", failure.message);
      assert.equal(order.paymentId, undefined);
      assert.equal((await repository.get(order.id))?.state, "payment_failed");
    }
  });

  it("leaves the order PENDING and rethrows when the charge's outcome is unknown", async () => {
    const unknown = new OutcomeUnknownError("the caller left during the charge");
    const { orders, repository, payments } = setup(() => Promise.reject(unknown));
    await assert.rejects(orders.create(`users/${ADA}`, [book]), (error) => error === unknown);
    const stored = [...repository.rows.values()].map((row) => row.order);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.state, "pending");
    assert.equal(stored[0]!.paymentId, undefined);
    assert.equal(payments.charges.length, 1);
  });

  it("answers an unknown user with NotFoundError, recording and charging nothing", async () => {
    const { orders, repository, payments, users } = setup();
    const stranger = "00000000-0000-4000-8000-000000000000";
    await assert.rejects(orders.create(`users/${stranger}`, [book]), (error) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.resourceName, `users/${stranger}`);
      return true;
    });
    assert.deepEqual(users.asked, [stranger]);
    assert.equal(repository.rows.size, 0);
    assert.equal(payments.charges.length, 0);
  });

  it("requires one currency and unit prices within the order limit, before asking anyone", async () => {
    // The contract's field rules (user name, 1 to 100 items, SKUs, quantities, currency codes, positive prices) are
    // enforced by the kit before a request gets here: orders-e2e.integration.test.ts checks them through real calls.
    const { orders, payments, users } = setup();
    const cases: [readonly OrderItem[], string[]][] = [
      [[book, { ...pen, unitPrice: { currencyCode: "USD", amountMinor: 300 } }], ["items"]],
      [[{ ...pen, unitPrice: { currencyCode: "EUR", amountMinor: 10_000_001 } }], ["items[0].unit_price.amount_minor"]],
    ];
    for (const [items, expected] of cases)
      await assert.rejects(orders.create(`users/${ADA}`, items), (error) => {
        assert.deepEqual(fields(error), expected);
        return true;
      });
    assert.equal(payments.charges.length, 0);
    assert.deepEqual(users.asked, []);
    // The bounds themselves are allowed.
    const edge = await orders.create(`users/${ADA}`, [
      { sku: "x".repeat(64), quantity: 1000, unitPrice: { currencyCode: "EUR", amountMinor: 10_000_000 } },
    ]);
    assert.equal(edge.total.amountMinor, 10_000_000_000);
  });
});

describe("order rules: get and list", () => {
  it("gets an order by id, and answers an unknown one with NotFoundError", async () => {
    const { orders } = setup();
    const order = await orders.create(`users/${ADA}`, [book]);
    assert.deepEqual(await orders.get(order.id), order);
    await assert.rejects(orders.get("00000000-0000-4000-8000-000000000000"), NotFoundError);
  });

  it("lists a user's orders, oldest first, page by page", async () => {
    const { orders } = setup();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push((await orders.create(`users/${ADA}`, [book])).id);
      await orders.create(`users/${BOB}`, [pen]);
    }
    const listed: string[] = [];
    let after: number | undefined;
    do {
      const page = await orders.list(ADA, 2, after);
      assert.ok(page.orders.length <= 2);
      listed.push(...page.orders.map((order) => order.id));
      after = page.after;
    } while (after !== undefined);
    assert.deepEqual(listed, created);

    const all = await orders.list(ADA, 0, undefined);
    assert.equal(all.orders.length, 5, "page_size 0 means the default page, not an empty one");
    assert.equal(all.after, undefined);
  });
});

describe("order rules: cancel", () => {
  it("cancels a PENDING order; cancelling it again changes nothing", async () => {
    const { orders, repository, order } = await pendingOrder();
    const cancelled = await orders.cancel(order.id);
    assert.equal(cancelled.state, "cancelled");
    assert.ok(cancelled.updateTime > order.updateTime);
    assert.deepEqual(await repository.get(order.id), cancelled);
    assert.deepEqual(await orders.cancel(order.id), cancelled);
    assert.deepEqual(await repository.get(order.id), cancelled);
  });

  it("refuses to cancel a PAID or PAYMENT_FAILED order with PreconditionError, changing nothing", async () => {
    for (const approved of [true, false]) {
      const { orders, repository } = setup((orderId) => Promise.resolve({ paymentId: `pay-${orderId}`, approved }));
      const order = await orders.create(`users/${ADA}`, [book]);
      await assert.rejects(orders.cancel(order.id), (error) => {
        assert.ok(error instanceof PreconditionError);
        assert.equal(error.type, "ORDER_STATE");
        assert.equal(error.subject, `orders/${order.id}`);
        assert.match(error.message, new RegExp(`state ${order.state}`));
        return true;
      });
      assert.deepEqual(await repository.get(order.id), order);
    }
  });

  it("answers an unknown order with NotFoundError", async () => {
    const { orders } = setup();
    await assert.rejects(orders.cancel("00000000-0000-4000-8000-000000000000"), NotFoundError);
  });
});

describe("order rules: settling from payment events", () => {
  it("moves a PENDING order to PAID or PAYMENT_FAILED with the event's payment", async () => {
    for (const [approved, state] of [
      [true, "paid"],
      [false, "payment_failed"],
    ] as const) {
      const { orders, order } = await pendingOrder();
      await orders.settleFromPayment(order.id, "pay-late", approved);
      const settled = await orders.get(order.id);
      assert.equal(settled.state, state);
      assert.equal(settled.paymentId, "pay-late");
      assert.ok(settled.updateTime > order.updateTime);
    }
  });

  it("is idempotent: a redelivery, or an event for an order already settled, changes nothing", async () => {
    const { orders, order } = await pendingOrder();
    await orders.settleFromPayment(order.id, "pay-1", true);
    const settled = await orders.get(order.id);
    await orders.settleFromPayment(order.id, "pay-1", true);
    await orders.settleFromPayment(order.id, "pay-2", false);
    assert.deepEqual(await orders.get(order.id), settled);

    const { orders: other, repository } = setup();
    const paid = await other.create(`users/${ADA}`, [book]);
    await other.settleFromPayment(paid.id, "pay-other", false);
    assert.deepEqual(await repository.get(paid.id), paid);
  });

  it("ignores an event for an order it does not have", async () => {
    const { orders, repository } = setup();
    await orders.settleFromPayment("00000000-0000-4000-8000-000000000000", "pay-1", true);
    assert.equal(repository.rows.size, 0);
  });
});

describe("order rules: watch", () => {
  it("yields the current state, then each change, and ends once the order is terminal", async () => {
    const { orders, order } = await pendingOrder();
    const watch = orders.watch(order.id, new AbortController().signal);
    const first = await watch.next();
    assert.deepEqual(first, { done: false, value: order });

    const second = nextOrder(watch);
    await orders.settleFromPayment(order.id, "pay-1", true);
    const paid = await second;
    assert.equal(paid.state, "paid");
    assert.equal(paid.paymentId, "pay-1");
    assert.deepEqual(await watch.next(), { done: true, value: undefined });
  });

  it("yields a terminal order once and ends", async () => {
    const { orders } = setup();
    const paid = await orders.create(`users/${ADA}`, [book]);
    const states: OrderState[] = [];
    for await (const order of orders.watch(paid.id, new AbortController().signal)) states.push(order.state);
    assert.deepEqual(states, ["paid"]);
  });

  it("ends when the watcher goes away", async () => {
    const { orders, order } = await pendingOrder();
    const controller = new AbortController();
    const watch = orders.watch(order.id, controller.signal);
    assert.equal((await nextOrder(watch)).state, "pending");
    const next = watch.next();
    controller.abort();
    assert.deepEqual(await next, { done: true, value: undefined });
  });

  it("answers an unknown order with NotFoundError", async () => {
    const { orders } = setup();
    await assert.rejects(
      orders.watch("00000000-0000-4000-8000-000000000000", new AbortController().signal).next(),
      NotFoundError,
    );
  });
});
