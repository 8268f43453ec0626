import { AckPolicy, ConsumerEvents, type ConsumerMessages, type JsMsg } from "nats";
import type { Logger } from "../logger.js";
import type { DataPathMetrics } from "../metrics/data-path-metrics.js";
import { aborted, backoffDelay, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";
import { ensureStream } from "./jetstream.js";
import { NatsLink } from "./nats-link.js";

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
   * handled just before a crash comes again. A rejection makes it come again a second later.
   */
  handle: (subject: string, data: Uint8Array) => Promise<void>;
  logger: Logger;
  metrics?: DataPathMetrics;
}

/**
 * Consumes a JetStream stream with explicit acknowledgement; resolves at once (without waiting for the broker)
 * with the function that stops it. It survives broker outages of any length — it reconnects, re-creates the stream
 * and the durable consumer if the broker lost them, and goes on from the consumer's position.
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

  constructor(
    private readonly options: EventConsumerOptions,
    private readonly link: NatsLink,
  ) {
    this.setupOutage = new OutageLog(options.logger, `event consumer ${options.durable} on ${options.stream}`);
    this.handlerOutage = new OutageLog(options.logger, `event handling of ${options.durable} on ${options.stream}`);
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
    const { stream, metrics } = this.options;
    try {
      await this.options.handle(message.subject, message.data);
      message.ack();
      this.handlerOutage.succeeded();
      metrics?.eventsConsumed.inc({ stream, outcome: "handled" });
    } catch (error) {
      this.handlerOutage.failed(error);
      message.nak(1000);
      metrics?.eventsConsumed.inc({ stream, outcome: "retried" });
    }
  }
}
