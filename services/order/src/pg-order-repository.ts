import { randomUUID } from "node:crypto";
import { inTransaction, writeOutboxEvent, type ChangeListener, type Pool, type PoolClient } from "@lattice/kit";
import {
  OrderCancelled,
  OrderCreated,
  OrderPaid,
  OrderPaymentFailed,
  protobufPackage,
} from "@lattice/proto/lattice/order/v1/events";
import { TERMINAL, type Order, type OrderRepository, type OrderState } from "./orders.js";
import { toProto } from "./proto-mapping.js";

interface Row {
  id: string;
  seq: string;
  user_id: string;
  items: Order["items"];
  currency_code: string;
  total_minor: string;
  state: OrderState;
  payment_id: string | null;
  create_time: Date;
  update_time: Date;
}

const COLUMNS = "id, seq, user_id, items, currency_code, total_minor, state, payment_id, create_time, update_time";
const CHANNEL = "order_changed";

const EVENTS: Readonly<Record<OrderState, { subject: string; encode: (order: Order) => Uint8Array }>> = {
  pending: {
    subject: `${protobufPackage}.OrderCreated`,
    encode: (o) => OrderCreated.encode({ eventId: randomUUID(), order: toProto(o) }).finish(),
  },
  paid: {
    subject: `${protobufPackage}.OrderPaid`,
    encode: (o) => OrderPaid.encode({ eventId: randomUUID(), order: toProto(o) }).finish(),
  },
  payment_failed: {
    subject: `${protobufPackage}.OrderPaymentFailed`,
    encode: (o) => OrderPaymentFailed.encode({ eventId: randomUUID(), order: toProto(o) }).finish(),
  },
  cancelled: {
    subject: `${protobufPackage}.OrderCancelled`,
    encode: (o) => OrderCancelled.encode({ eventId: randomUUID(), order: toProto(o) }).finish(),
  },
};

/** The channel an order's changes are notified on, in `schema`; each notification's payload is the order id. */
export function orderChannel(schema: string): string {
  return `${schema}.${CHANNEL}`;
}

/**
 * Orders in PostgreSQL. Every change writes its event to the outbox and a NOTIFY in the same transaction; watchers
 * of any replica hear about it through one LISTEN connection per process (`changes`, on orderChannel(schema)),
 * which reconnects by itself and wakes the watchers when notifications may have been missed.
 */
export class PgOrderRepository implements OrderRepository {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly changes: ChangeListener,
  ) {}

  insert(order: Order): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO orders (id, user_id, items, currency_code, total_minor, state, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [
          order.id,
          order.userId,
          JSON.stringify(order.items),
          order.total.currencyCode,
          order.total.amountMinor,
          order.state,
          order.createTime,
        ],
      );
      await this.changed(client, order);
    });
  }

  async get(id: string): Promise<Order | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM orders WHERE id = $1`, [id]);
    return rows[0] && toOrder(rows[0]);
  }

  async list(userId: string, limit: number, after: number | undefined) {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM orders WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [userId, after ?? 0, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { orders: page.map(toOrder), after: rows.length > limit ? Number(page[page.length - 1]!.seq) : undefined };
  }

  transition(id: string, from: readonly OrderState[], next: Order): Promise<Order | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `UPDATE orders SET state = $2, payment_id = $3, update_time = $4 WHERE id = $1 AND state = ANY($5::text[])
         RETURNING ${COLUMNS}`,
        [id, next.state, next.paymentId ?? null, next.updateTime, from],
      );
      if (!rows[0]) return undefined;
      const order = toOrder(rows[0]);
      await this.changed(client, order);
      return order;
    });
  }

  async *watch(id: string, signal: AbortSignal): AsyncGenerator<Order> {
    // Ends the wait for the next change when the watch ends for any reason, not only when the call is cancelled
    // (a failed read ends the stream; its wait must not stay registered).
    const watching = new AbortController();
    const stop = () => watching.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      let last: Order | undefined;
      while (!watching.signal.aborted) {
        // Wait from before the read, so a change between the read and the wait is not missed.
        const next = this.changes.nextChange(id, watching.signal);
        const current = await this.get(id);
        if (!current) return;
        if (!last || current.updateTime.getTime() !== last.updateTime.getTime() || current.state !== last.state) {
          last = current;
          yield current;
        }
        if (TERMINAL.has(current.state)) return;
        await next;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      stop();
    }
  }

  private async changed(client: PoolClient, order: Order): Promise<void> {
    const event = EVENTS[order.state];
    await writeOutboxEvent(client, { subject: event.subject, payload: event.encode(order) });
    await client.query(`SELECT pg_notify($1, $2)`, [orderChannel(this.schema), order.id]);
  }
}

function toOrder(row: Row): Order {
  return {
    id: row.id,
    userId: row.user_id,
    items: row.items,
    total: { currencyCode: row.currency_code, amountMinor: Number(row.total_minor) },
    state: row.state,
    paymentId: row.payment_id ?? undefined,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}
