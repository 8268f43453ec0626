import { randomUUID } from "node:crypto";
import { inTransaction, writeOutboxEvent, type Pool, type PoolClient } from "@lattice/kit";
import {
  PaymentDeclined,
  PaymentRefunded,
  PaymentSucceeded,
  protobufPackage,
} from "@lattice/proto/lattice/payment/v1/events";
import type { ChargeOutcome, Payment, PaymentRepository, PaymentState } from "./payments.js";
import { toProto } from "./proto-mapping.js";

interface Row {
  id: string;
  order_name: string;
  currency_code: string;
  amount_minor: string;
  state: PaymentState;
  idempotency_key: string;
  decline_reason: string;
  create_time: Date;
  update_time: Date;
}

const COLUMNS =
  "id, order_name, currency_code, amount_minor, state, idempotency_key, decline_reason, create_time, update_time";

/** Payments and their outbox in PostgreSQL; every state change and its event commit together. */
export class PgPaymentRepository implements PaymentRepository {
  constructor(private readonly pool: Pool) {}

  chargeOnce(draft: Payment, settle: () => Promise<ChargeOutcome>): Promise<{ payment: Payment; replayed: boolean }> {
    return inTransaction(this.pool, async (client) => {
      // A concurrent transaction inserting the same key makes this statement wait for it; if it committed, the
      // insert does nothing and this call replays its result.
      const claimed = await client.query(
        `INSERT INTO payments (id, order_name, currency_code, amount_minor, state, idempotency_key, create_time, update_time)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          draft.id,
          draft.order,
          draft.amount.currencyCode,
          draft.amount.amountMinor,
          draft.idempotencyKey,
          draft.createTime,
        ],
      );
      if (claimed.rowCount === 0) {
        const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM payments WHERE idempotency_key = $1`, [
          draft.idempotencyKey,
        ]);
        return { payment: toPayment(rows[0]!), replayed: true };
      }
      const outcome = await settle();
      const payment: Payment = {
        ...draft,
        state: outcome.approved ? "succeeded" : "declined",
        declineReason: outcome.approved ? "" : outcome.reason,
      };
      await client.query(`UPDATE payments SET state = $2, decline_reason = $3 WHERE id = $1`, [
        payment.id,
        payment.state,
        payment.declineReason,
      ]);
      await (outcome.approved
        ? record(
            client,
            `${protobufPackage}.PaymentSucceeded`,
            PaymentSucceeded.encode({ eventId: randomUUID(), payment: toProto(payment) }).finish(),
          )
        : record(
            client,
            `${protobufPackage}.PaymentDeclined`,
            PaymentDeclined.encode({ eventId: randomUUID(), payment: toProto(payment) }).finish(),
          ));
      return { payment, replayed: false };
    });
  }

  async get(id: string): Promise<Payment | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM payments WHERE id = $1 AND state <> 'pending'`,
      [id],
    );
    return rows[0] && toPayment(rows[0]);
  }

  refundOnce(id: string, refund: (payment: Payment) => Promise<void>, now: Date): Promise<Payment | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM payments WHERE id = $1 AND state <> 'pending' FOR UPDATE`,
        [id],
      );
      if (!rows[0]) return undefined;
      const current = toPayment(rows[0]);
      await refund(current);
      if (current.state !== "succeeded") return current;
      const refunded: Payment = { ...current, state: "refunded", updateTime: now };
      await client.query(`UPDATE payments SET state = 'refunded', update_time = $2 WHERE id = $1`, [id, now]);
      await record(
        client,
        `${protobufPackage}.PaymentRefunded`,
        PaymentRefunded.encode({ eventId: randomUUID(), payment: toProto(refunded) }).finish(),
      );
      return refunded;
    });
  }
}

async function record(client: PoolClient, subject: string, payload: Uint8Array): Promise<void> {
  await writeOutboxEvent(client, { subject, payload });
}

function toPayment(row: Row): Payment {
  return {
    id: row.id,
    order: row.order_name,
    amount: { currencyCode: row.currency_code, amountMinor: Number(row.amount_minor) },
    state: row.state,
    idempotencyKey: row.idempotency_key,
    declineReason: row.decline_reason,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}
