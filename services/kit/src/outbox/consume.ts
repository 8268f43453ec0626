import { AckPolicy, connect } from "nats";
import type { Logger } from "../logger.js";
import type { EventMetrics } from "../metrics/event-metrics.js";
import { withEventProcessing } from "../telemetry/messaging-spans.js";
import { ensureStream } from "./jetstream.js";

export interface EventConsumerOptions {
  natsUrl: string;
  /** The stream to read, and its subjects (created if the publisher has not started yet). */
  stream: string;
  subjects: string[];
  /** Durable consumer name: the position survives restarts, and replicas share the work. */
  durable: string;
  /**
   * Handles one event. It must be idempotent: a message is acknowledged after `handle` resolves, so an event
   * handled just before a crash comes again. A rejection makes it come again a second later.
   */
  handle: (subject: string, data: Uint8Array) => Promise<void>;
  logger: Logger;
  /** Where redeliveries are counted (lattice_events_redelivered_total); not counted when not given. */
  metrics?: EventMetrics;
}

/**
 * Consumes a JetStream stream with explicit acknowledgement; resolves with the function that stops it. While tracing
 * is on, each event is handled in a `process <subject>` span continuing the trace it was written in.
 */
export async function startEventConsumer(options: EventConsumerOptions): Promise<() => Promise<void>> {
  const connection = await connect({ servers: options.natsUrl, name: `lattice-consumer-${options.durable}` });
  await ensureStream(connection, options.stream, options.subjects);
  const manager = await connection.jetstreamManager();
  await manager.consumers.add(options.stream, { durable_name: options.durable, ack_policy: AckPolicy.Explicit });
  const consumer = await connection.jetstream().consumers.get(options.stream, options.durable);
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const message of messages) {
      if (message.redelivered) options.metrics?.redelivered.inc({ stream: options.stream });
      try {
        await withEventProcessing(
          {
            subject: message.subject,
            headers: message.headers,
            size: message.data.byteLength,
            deliveryCount: message.info.deliveryCount,
          },
          options.durable,
          () => options.handle(message.subject, message.data),
        );
        message.ack();
      } catch (error) {
        options.logger.warn({ err: error, subject: message.subject }, "event handling failed; it will come again");
        message.nak(1000);
      }
    }
  })();
  options.logger.info({ stream: options.stream, durable: options.durable }, "consuming events");
  return async () => {
    await messages.close();
    await done;
    await connection.drain();
  };
}
