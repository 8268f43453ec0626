import type { Logger } from "../logger.js";
import type { Pool } from "../db/pool.js";
import type { DataPathMetrics } from "../metrics/data-path-metrics.js";
import { aborted, backoffDelay, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";

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
  /** Events sent per transaction; 100 by default. */
  batchSize?: number;
  /** Pause between polls when the outbox is empty (ms); 200 by default. */
  intervalMs?: number;
  /**
   * Resolves when publishing is worth trying (the broker is connected). The relay waits on it before each batch,
   * so an outage costs neither database round trips nor log lines; without it the relay always tries.
   */
  publishable?: (signal: AbortSignal) => Promise<unknown>;
  /** Stops the relay when it aborts, as stop() does. */
  signal?: AbortSignal;
  metrics?: DataPathMetrics;
}

/**
 * Publishes what services wrote to their `outbox` table (in the same transaction as the change it reports):
 *
 *   outbox (id uuid PRIMARY KEY, subject text, payload bytea, created_at timestamptz DEFAULT now(),
 *           published_at timestamptz, seq bigint DEFAULT nextval(...) — the order rows were written in)
 *
 * Nothing is lost if the relay dies at any point: rows are marked published only after the broker acknowledged
 * them, unmarked rows are sent again, and the broker drops the copy by event id (Nats-Msg-Id).
 *
 * Order: one relay at a time drains an outbox — each batch runs under a transaction-level advisory lock on it, and
 * any number of replicas take turns batch by batch — and it sends in `seq` order, waiting for each acknowledgement.
 * An entity's events are written after its row is locked (updated or inserted), so their seq order is their commit
 * order, and the broker stores them in that order whatever the number of replicas.
 */
export class OutboxRelay {
  private running: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private readonly outage: OutageLog;
  private pollCount = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.outage = new OutageLog(options.logger, "outbox relay");
    options.signal?.addEventListener("abort", () => this.controller.abort(), { once: true });
  }

  /** How many times the relay has looked at the outbox since it started. */
  get polls(): number {
    return this.pollCount;
  }

  /**
   * Sends one batch, oldest first; resolves with how many events were published — 0 when the outbox is empty or
   * another relay is draining it. Rejects when publishing or the database failed; events published before the
   * failure are recorded as published.
   */
  async drainOnce(): Promise<number> {
    const { pool } = this.options;
    this.pollCount++;
    // A cheap look first: an idle relay polls every intervalMs, and needs no transaction to find nothing.
    const { rows: waiting } = await pool.query<{ any: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL) AS any",
    );
    if (!waiting[0]?.any) return 0;
    const batch = await pool.transaction(async (client) => {
      const { rows: lock } = await client.query<{ held: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtext('lattice.outbox.' || current_schema())) AS held",
      );
      if (!lock[0]?.held) return { published: 0, failure: undefined };
      const { rows } = await client.query<OutboxEvent & { payload: Buffer }>(
        `SELECT id, subject, payload, traceparent, tracestate FROM outbox WHERE published_at IS NULL
         ORDER BY seq LIMIT $1`,
        [this.options.batchSize ?? 100],
      );
      const published: string[] = [];
      let failure: { error: unknown } | undefined;
      for (const row of rows) {
        try {
          await this.options.publish(row);
        } catch (error) {
          failure = { error };
          break;
        }
        published.push(row.id);
      }
      if (published.length > 0)
        await client.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])", [published]);
      // What was acknowledged is recorded; the rest waits for the next attempt. The failure is raised after COMMIT.
      return { published: published.length, failure };
    });
    this.options.metrics?.outboxPublished.inc(batch.published);
    if (batch.failure) throw batch.failure.error;
    return batch.published;
  }

  /**
   * Polls until stop(): drains while there is a backlog, then checks every intervalMs. Waits while the broker is
   * not connected (see `publishable`). Failures back off (from intervalMs doubling to 5 s) and are logged once per
   * outage, then at most every 30 s.
   */
  start(): void {
    const { signal } = this.controller;
    const interval = this.options.intervalMs ?? 200;
    this.running ??= (async () => {
      let failures = 0;
      while (!signal.aborted) {
        await this.options.publishable?.(signal);
        if (aborted(signal)) break;
        let sent = 0;
        try {
          sent = await this.drainOnce();
          failures = 0;
          this.outage.succeeded();
        } catch (error) {
          failures++;
          this.options.metrics?.outboxFailures.inc();
          this.outage.failed(error);
        }
        if (failures > 0) await sleep(backoffDelay(failures, { initialMs: interval, maxMs: 5000 }), signal);
        else if (sent === 0) await sleep(interval, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }
}
