import type { Logger } from "../logger.js";
import { inTransaction, type Pool } from "../db/pool.js";

/** One event waiting in a service's outbox table. */
export interface OutboxEvent {
  /** Unique per event: the broker's de-duplication id. */
  readonly id: string;
  /** Message subject, the event's full protobuf name, e.g. "lattice.payment.v1.PaymentSucceeded". */
  readonly subject: string;
  readonly payload: Uint8Array;
  /** The W3C trace context the event was written in (see writeOutboxEvent), published in its headers; null if none. */
  readonly traceparent?: string | null;
  readonly tracestate?: string | null;
}

export type Publish = (event: OutboxEvent) => Promise<void>;

export interface OutboxRelayOptions {
  pool: Pool;
  publish: Publish;
  logger: Logger;
  /** Events sent per transaction. */
  batchSize?: number;
  /** Pause between polls when the outbox is empty. */
  intervalMs?: number;
}

/**
 * Publishes what services wrote to their `outbox` table (in the same transaction as the change it reports).
 * Rows are locked while they are sent and marked published only after the broker acknowledged them, so nothing is
 * lost if the relay dies at any point: unmarked rows are sent again, and the broker drops the copy by event id.
 * SKIP LOCKED lets several replicas relay side by side.
 */
export class OutboxRelay {
  private running: Promise<void> | undefined;
  private readonly controller = new AbortController();

  constructor(private readonly options: OutboxRelayOptions) {}

  /** Sends one batch; resolves with how many events were published. */
  drainOnce(): Promise<number> {
    return inTransaction(this.options.pool, async (client) => {
      const { rows } = await client.query<OutboxEvent & { payload: Buffer }>(
        `SELECT id, subject, payload, traceparent, tracestate FROM outbox WHERE published_at IS NULL
         ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSize ?? 100],
      );
      for (const row of rows) await this.options.publish(row);
      if (rows.length > 0)
        await client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, [
          rows.map((r) => r.id),
        ]);
      return rows.length;
    });
  }

  /** Polls until stop(); failures (broker down) are logged and retried on the next poll. */
  start(): void {
    const { signal } = this.controller;
    const interval = this.options.intervalMs ?? 200;
    this.running ??= (async () => {
      while (!signal.aborted) {
        let sent = 0;
        try {
          sent = await this.drainOnce();
        } catch (error) {
          this.options.logger.warn({ err: error }, "outbox relay: publishing failed, retrying");
        }
        if (sent === 0) await sleep(interval, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
