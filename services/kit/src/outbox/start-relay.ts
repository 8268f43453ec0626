import { z } from "zod";
import type { Pool } from "../db/pool.js";
import type { Logger } from "../logger.js";
import type { DataPathMetrics } from "../metrics/data-path-metrics.js";
import { CONSUMER_DEFAULTS } from "./consume.js";
import { linkPublisher } from "./jetstream.js";
import { NATS_LINK_DEFAULTS, type NatsLink } from "./nats-link.js";
import { OutboxRelay } from "./relay.js";

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * Environment keys of a service that publishes or consumes events (docs/data-path.md lists them with their use).
 * Without NATS_URL events wait in the outbox and nothing is consumed.
 */
export const outboxConfig = {
  NATS_URL: z
    .string()
    .regex(/^nats:\/\//, "must be a nats:// URL")
    .optional(),
  /** ms: how often the relay looks for new events in an empty outbox. */
  OUTBOX_POLL_MS: ms(10, 60_000, 200),
  /** ms: pause between attempts to reach NATS, for as long as it takes. */
  NATS_RECONNECT_WAIT_MS: ms(10, 600_000, NATS_LINK_DEFAULTS.reconnectWaitMs),
  /** Deliveries of one event before a consumer dead-letters it. */
  EVENTS_MAX_DELIVERIES: z.coerce.number().int().min(1).max(1000).default(CONSUMER_DEFAULTS.maxDeliveries),
  /** ms: first redelivery delay after a handler failed, doubling per delivery up to 60 s. */
  EVENTS_RETRY_BACKOFF_MS: ms(1, 60_000, CONSUMER_DEFAULTS.retryBackoffMs),
};

export interface StartRelayOptions {
  pool: Pool;
  /** The process's connection to NATS; undefined when NATS_URL is not set. */
  link: NatsLink | undefined;
  pollMs: number;
  /** JetStream stream that stores the service's events, e.g. "LATTICE_PAYMENT". */
  stream: string;
  /** Subjects of that stream, e.g. ["lattice.payment.v1.>"]. */
  subjects: string[];
  logger: Logger;
  metrics?: DataPathMetrics;
}

/**
 * Starts relaying the outbox to JetStream when NATS is configured, without waiting for the broker: the relay
 * publishes whenever it is connected. Returns the function that stops it.
 */
export function startOutboxRelay(options: StartRelayOptions): () => Promise<void> {
  const { link } = options;
  if (!link) {
    options.logger.info("NATS_URL not set: events stay in the outbox until a relay runs");
    return async () => {};
  }
  const relay = new OutboxRelay({
    pool: options.pool,
    publish: linkPublisher(link, options.stream, options.subjects),
    publishable: (signal) => link.connected(signal),
    logger: options.logger,
    intervalMs: options.pollMs,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  relay.start();
  options.logger.info({ stream: options.stream }, "relaying the outbox to NATS JetStream");
  return () => relay.stop();
}
