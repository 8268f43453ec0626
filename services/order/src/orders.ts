import { randomUUID } from "node:crypto";
import {
  NotFoundError,
  OutcomeUnknownError,
  PreconditionError,
  ValidationError,
  type FieldViolation,
} from "@lattice/kit";
import { orderName, userName } from "./names.js";

export type OrderState = "pending" | "paid" | "payment_failed" | "cancelled";
export const TERMINAL: ReadonlySet<OrderState> = new Set(["paid", "payment_failed", "cancelled"]);

export interface Money {
  readonly currencyCode: string;
  readonly amountMinor: number;
}

export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: Money;
}

export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly items: readonly OrderItem[];
  readonly total: Money;
  readonly state: OrderState;
  readonly paymentId: string | undefined;
  readonly createTime: Date;
  readonly updateTime: Date;
}

/**
 * UserService, as the order rules need it. Implementations over the network inherit the caller's deadline and
 * cancellation from the call being handled.
 */
export interface UserDirectory {
  exists(userId: string): Promise<boolean>;
}

/** PaymentService, as the order rules need it. */
export interface PaymentGateway {
  /**
   * Charges `total` once per order (the order id is the idempotency key). Rejects with OutcomeUnknownError when the
   * charge was abandoned part-way (deadline, cancellation) and may or may not have happened; any other rejection
   * means it did not happen.
   */
  charge(orderId: string, total: Money): Promise<{ paymentId: string; approved: boolean }>;
}

export interface OrderRepository {
  insert(order: Order): Promise<void>;
  get(id: string): Promise<Order | undefined>;
  list(
    userId: string,
    limit: number,
    after: number | undefined,
  ): Promise<{ orders: Order[]; after: number | undefined }>;
  /** Moves the order to `next` if it is in one of `from`; records the change's event with it. Undefined if not. */
  transition(id: string, from: readonly OrderState[], next: Order): Promise<Order | undefined>;
  /** Yields the order now and after every change, until it is terminal or `signal` aborts. */
  watch(id: string, signal: AbortSignal): AsyncGenerator<Order>;
}

export class Orders {
  constructor(
    private readonly repository: OrderRepository,
    private readonly users: UserDirectory,
    private readonly payments: PaymentGateway,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Records the order of the user named `user` ("users/{id}") PENDING, charges it, and returns it PAID or
   * PAYMENT_FAILED. The contract's field rules (user name, 1 to 100 items, SKUs, quantities, currency codes,
   * positive prices) hold here; the order's own rules are checked first, before anyone is asked.
   */
  async create(user: string, items: readonly OrderItem[]): Promise<Order> {
    const total = checkItems(items);
    const userId = userName.parse(user, "user");
    if (!(await this.users.exists(userId))) throw new NotFoundError("user", user);

    const now = this.now();
    const pending: Order = {
      id: randomUUID(),
      userId,
      items,
      total,
      state: "pending",
      paymentId: undefined,
      createTime: now,
      updateTime: now,
    };
    await this.repository.insert(pending);

    let outcome: { paymentId: string | undefined; approved: boolean };
    try {
      outcome = await this.payments.charge(pending.id, total);
    } catch (error) {
      // The caller left, or the charge ran out of time: it may or may not have happened. The order stays PENDING;
      // the payment's event, or a retry of the charge with the same key, settles it without charging twice.
      if (error instanceof OutcomeUnknownError) throw error;
      outcome = { paymentId: undefined, approved: false };
    }
    const settled: Order = {
      ...pending,
      state: outcome.approved ? "paid" : "payment_failed",
      paymentId: outcome.paymentId,
      updateTime: this.now(),
    };
    return (await this.repository.transition(pending.id, ["pending"], settled)) ?? (await this.get(pending.id));
  }

  async get(id: string): Promise<Order> {
    const order = await this.repository.get(id);
    if (!order) throw new NotFoundError("order", orderName.format(id));
    return order;
  }

  /** A page of `pageSize` orders (0 means 50) after position `after`. */
  list(userId: string, pageSize: number, after: number | undefined) {
    return this.repository.list(userId, pageSize || 50, after);
  }

  /**
   * Applies a payment's outcome reported by an event. Idempotent: only a PENDING order moves, so a redelivered
   * event, or one for an order CreateOrder already settled, changes nothing. Settles orders whose caller left
   * while the charge was under way.
   */
  async settleFromPayment(orderId: string, paymentId: string, approved: boolean): Promise<void> {
    const current = await this.repository.get(orderId);
    if (current?.state !== "pending") return;
    await this.repository.transition(orderId, ["pending"], {
      ...current,
      state: approved ? "paid" : "payment_failed",
      paymentId,
      updateTime: this.now(),
    });
  }

  /** Only a PENDING order can be cancelled; a paid one must be refunded instead. */
  async cancel(id: string): Promise<Order> {
    const current = await this.get(id);
    if (current.state === "cancelled") return current;
    const cancelled = await this.repository.transition(id, ["pending"], {
      ...current,
      state: "cancelled",
      updateTime: this.now(),
    });
    if (cancelled) return cancelled;
    const latest = await this.get(id);
    throw new PreconditionError(
      "ORDER_STATE",
      orderName.format(id),
      `an order in state ${latest.state} cannot be cancelled`,
    );
  }

  async *watch(id: string, signal: AbortSignal): AsyncGenerator<Order> {
    await this.get(id);
    yield* this.repository.watch(id, signal);
  }
}

export const UNIT_PRICE_MAX_MINOR = 10_000_000;

/**
 * The order's own rules on its items: unit prices within what one order may charge, one currency for the whole
 * order. Returns the total, or throws with every violation.
 */
function checkItems(items: readonly OrderItem[]): Money {
  const violations: FieldViolation[] = [];
  const currencies = new Set<string>();
  let total = 0;
  items.forEach((item, i) => {
    if (item.unitPrice.amountMinor > UNIT_PRICE_MAX_MINOR)
      violations.push({
        field: `items[${i}].unit_price.amount_minor`,
        description: `must be at most ${UNIT_PRICE_MAX_MINOR}`,
      });
    currencies.add(item.unitPrice.currencyCode);
    total += item.quantity * item.unitPrice.amountMinor;
  });
  if (currencies.size > 1) violations.push({ field: "items", description: "all items must have the same currency" });
  if (violations.length > 0) throw new ValidationError(violations);
  return { currencyCode: [...currencies][0]!, amountMinor: total };
}
