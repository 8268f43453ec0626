import { AckPolicy, ConsumerEvents, nanos, type ConsumerMessages, type JsMsg } from "nats";
import { ValidationError } from "../errors/domain.js";
import { statusOf } from "../errors/status-of.js";
import { Status } from "../errors/status-codes.js";
import type { Logger } from "../logger.js";
import type { DataPathMetrics } from "../metrics/data-path-metrics.js";
import { aborted, backoffDelay, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";
import { DEAD_LETTER_REASONS, publishDeadLetter, type DeadLetterReason } from "./dead-letters.js";
import type { EventMetrics } from "../metrics/event-metrics.js";
import { withEventProcessing } from "../telemetry/messaging-spans.js";
import { ensureStream } from "./jetstream.js";
import { NatsLink } from "./nats-link.js";
import { PoisonEventError } from "./poison-event-error.js";

/** Defaults of a consumer's retry settings (see EventConsumerOptions). */
export const CONSUMER_DEFAULTS = {
  maxDeliveries: 20,
  retryBackoffMs: 1000,
  /** No redelivery waits longer. */
  maxRetryDelayMs: 60_000,
} as const;

export interface EventConsumerOptions {
  /** The connection to use, shared with the process's outbox relay; or give natsUrl to open one of its own. */
  link?: NatsLink;
  natsUrl?: string;
  /** The stream to read, and its subjects (created if the publisher has not started yet). */
  stream: string;
  subjects: string[];
  /** Durable consumer name: the position survives restarts, and replicas share the work. */
  durable: string;
  /**
   * Handles one event. It must be idempotent: a message is acknowledged after `handle` resolves, so an event
   * handled just before a crash comes again. A rejection makes it come again after a backoff; a PoisonEventError
   * (or ValidationError) dead-letters it at once.
   */
  handle: (subject: string, data: Uint8Array) => Promise<void>;
  logger: Logger;
  /**
   * Deliveries of one event at most: one that fails on every one of them is dead-lettered (see
   * dead-letters.ts) and terminated. 20 by default. Failures that say a dependency is down (UNAVAILABLE) do not
   * end the retries: the event comes again, at most every 60 s, until the dependency is back.
   */
  maxDeliveries?: number;
  /** The first redelivery's delay after a failure (ms), doubling with every delivery up to 60 s; 1000 by default. */
  retryBackoffMs?: number;
  metrics?: DataPathMetrics;
  /** Where redeliveries are counted (lattice_events_redelivered_total); not counted when not given. */
  eventMetrics?: EventMetrics;
}

/**
 * Consumes a JetStream stream with explicit acknowledgement; resolves at once (without waiting for the broker)
 * with the function that stops it. It survives broker outages of any length — it reconnects, re-creates the stream
 * and the durable consumer if the broker lost them, and goes on from the consumer's position — and never lets one
 * event block the others:
 *
 * - handled: acknowledged;
 * - failed: negatively acknowledged with a delay of retryBackoffMs × 2^(delivery−1), capped at 60 s, so a failing
 *   dependency is not hammered and the events behind it still flow;
 * - failed because a dependency is down (UNAVAILABLE: UnavailableError, a peer's status or its open breaker): the
 *   same, however many deliveries it takes — an outage never dead-letters a sound event;
 * - poison (PoisonEventError, ValidationError), or failed otherwise on its maxDeliveries-th delivery: stored in the dead
 *   letter stream, then terminated (JetStream delivers it no more). If the dead letter cannot be stored the event
 *   is negatively acknowledged instead, never dropped.
 *
 * While tracing is on, each event is handled in a `process <subject>` span continuing the trace it was written in.
 */
export async function startEventConsumer(options: EventConsumerOptions): Promise<() => Promise<void>> {
  const owned = options.link === undefined;
  const link =
    options.link ??
    new NatsLink({
      url: required(options.natsUrl),
      name: `lattice-consumer-${options.durable}`,
      logger: options.logger,
    });
  const consumer = new EventConsumer(options, link);
  consumer.start();
  options.logger.info({ stream: options.stream, durable: options.durable }, "consuming events");
  return async () => {
    await consumer.stop();
    if (owned) await link.close();
  };
}

function required(natsUrl: string | undefined): string {
  if (!natsUrl) throw new Error("startEventConsumer needs a link or a natsUrl");
  return natsUrl;
}

class EventConsumer {
  private readonly stopping = new AbortController();
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;
  private readonly setupOutage: OutageLog;
  private readonly handlerOutage: OutageLog;
  private readonly maxDeliveries: number;
  private readonly retryBackoffMs: number;

  constructor(
    private readonly options: EventConsumerOptions,
    private readonly link: NatsLink,
  ) {
    this.setupOutage = new OutageLog(options.logger, `event consumer ${options.durable} on ${options.stream}`);
    this.handlerOutage = new OutageLog(options.logger, `event handling of ${options.durable} on ${options.stream}`);
    this.maxDeliveries = options.maxDeliveries ?? CONSUMER_DEFAULTS.maxDeliveries;
    this.retryBackoffMs = options.retryBackoffMs ?? CONSUMER_DEFAULTS.retryBackoffMs;
    // Every series the consumer moves starts at 0: Prometheus's increase() cannot see the first increment of a
    // series that appears with it, and the dead-letter alert (LatticeEventsDeadLettered) counts exactly those.
    const { stream, metrics } = options;
    for (const outcome of ["handled", "retried", "dead_lettered"]) metrics?.eventsConsumed.inc({ stream, outcome }, 0);
    for (const reason of DEAD_LETTER_REASONS) metrics?.eventsDeadLettered.inc({ stream, reason }, 0);
    options.eventMetrics?.redelivered.inc({ stream }, 0);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.messages?.stop();
    await this.running;
  }

  /** Consumes while connected; starts again after anything that ends the consumption. */
  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    let failures = 0;
    while (!signal.aborted) {
      const nc = await this.link.connected(signal);
      if (!nc) break;
      try {
        await ensureStream(nc, this.options.stream, this.options.subjects);
        const manager = await nc.jetstreamManager();
        await manager.consumers.add(this.options.stream, {
          durable_name: this.options.durable,
          ack_policy: AckPolicy.Explicit,
          // Redeliveries are bounded here, in the consumer (maxDeliveries), where the event can be dead-lettered;
          // the server's own bound would drop it silently.
          max_deliver: -1,
          ack_wait: nanos(30_000),
        });
        const consumer = await nc.jetstream().consumers.get(this.options.stream, this.options.durable);
        const messages = await consumer.consume({ max_messages: 100 });
        this.messages = messages;
        if (aborted(signal)) messages.stop();
        this.setupOutage.succeeded();
        failures = 0;
        void this.restartIfLost(messages);
        for await (const message of messages) await this.deliver(message);
      } catch (error) {
        if (aborted(signal)) break;
        failures++;
        this.setupOutage.failed(error);
        await sleep(backoffDelay(failures, { initialMs: 500, maxMs: 10_000 }), signal);
      }
    }
  }

  /** The broker lost the stream or the consumer (restarted without its storage): stop, to create them again. */
  private async restartIfLost(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const status of await messages.status()) {
        if (
          status.type === ConsumerEvents.ConsumerNotFound ||
          status.type === ConsumerEvents.StreamNotFound ||
          status.type === ConsumerEvents.ConsumerDeleted
        ) {
          messages.stop();
          return;
        }
      }
    } catch {
      // The status iterator ends with the messages.
    }
  }

  private async deliver(message: JsMsg): Promise<void> {
    const { stream, durable, metrics } = this.options;
    const deliveries = message.info.deliveryCount;
    if (message.redelivered) this.options.eventMetrics?.redelivered.inc({ stream });
    try {
      await withEventProcessing(
        {
          subject: message.subject,
          headers: message.headers,
          size: message.data.byteLength,
          deliveryCount: deliveries,
        },
        durable,
        () => this.options.handle(message.subject, message.data),
      );
      message.ack();
      this.handlerOutage.succeeded();
      metrics?.eventsConsumed.inc({ stream, outcome: "handled" });
      return;
    } catch (error) {
      const poison = error instanceof PoisonEventError || error instanceof ValidationError;
      // A dependency that is down (UNAVAILABLE: the database pool's UnavailableError, a peer or its open breaker)
      // says nothing about the event: it is retried for as long as the outage lasts, never dead-lettered for it.
      const outage = !poison && statusOf(error) === Status.UNAVAILABLE;
      if (!poison && (outage || deliveries < this.maxDeliveries)) {
        const delay = Math.min(
          backoffDelay(deliveries, { initialMs: this.retryBackoffMs, maxMs: CONSUMER_DEFAULTS.maxRetryDelayMs }),
          CONSUMER_DEFAULTS.maxRetryDelayMs,
        );
        message.nak(delay);
        this.handlerOutage.failed(error);
        this.options.logger.debug(
          { err: error, subject: message.subject, seq: message.seq, deliveries, retry_ms: delay },
          "event handling failed; it will come again",
        );
        metrics?.eventsConsumed.inc({ stream, outcome: "retried" });
        return;
      }
      await this.deadLetter(message, poison ? "poison" : "exhausted", error, durable);
    }
  }

  private async deadLetter(message: JsMsg, reason: DeadLetterReason, error: unknown, durable: string): Promise<void> {
    const { stream, metrics, logger } = this.options;
    const deliveries = message.info.deliveryCount;
    const nc = this.link.current;
    try {
      if (!nc) throw new Error("NATS is not connected");
      await publishDeadLetter(nc, {
        stream,
        sequence: message.seq,
        subject: message.subject,
        consumer: durable,
        reason,
        error: error instanceof Error ? error.message : String(error),
        deliveries,
        data: message.data,
      });
    } catch (failure) {
      // Never dropped: it comes again, and dead-lettering is tried again then.
      logger.warn({ err: failure, subject: message.subject, seq: message.seq }, "dead-lettering an event failed");
      message.nak(this.retryBackoffMs);
      return;
    }
    // No reason with it: servers before 2.10 do not recognise "+TERM <reason>" and keep the event pending. The
    // dead letter says why.
    message.term();
    logger.error(
      { err: error, subject: message.subject, seq: message.seq, deliveries, reason },
      "event dead-lettered: it will not be delivered again",
    );
    metrics?.eventsConsumed.inc({ stream, outcome: "dead_lettered" });
    metrics?.eventsDeadLettered.inc({ stream, reason });
  }
}
