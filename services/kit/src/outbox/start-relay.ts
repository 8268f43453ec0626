import { z } from "zod";
import type { Pool } from "../db/pool.js";
import type { Logger } from "../logger.js";
import { jetStreamPublisher } from "./jetstream.js";
import { OutboxRelay } from "./relay.js";

/** Environment keys of a service that publishes events. Without NATS_URL events wait in the outbox. */
export const outboxConfig = {
  NATS_URL: z
    .string()
    .regex(/^nats:\/\//, "must be a nats:// URL")
    .optional(),
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
};

export interface StartRelayOptions {
  pool: Pool;
  natsUrl: string | undefined;
  pollMs: number;
  /** JetStream stream that stores the service's events, e.g. "LATTICE_PAYMENT". */
  stream: string;
  /** Subjects of that stream, e.g. ["lattice.payment.v1.>"]. */
  subjects: string[];
  logger: Logger;
}

/** Starts relaying the outbox to JetStream when NATS is configured; resolves with the function that stops it. */
export async function startOutboxRelay(options: StartRelayOptions): Promise<() => Promise<void>> {
  if (!options.natsUrl) {
    options.logger.info("NATS_URL not set: events stay in the outbox until a relay runs");
    return async () => {};
  }
  const publisher = await jetStreamPublisher(options.natsUrl, options.stream, options.subjects);
  const relay = new OutboxRelay({
    pool: options.pool,
    publish: publisher.publish,
    logger: options.logger,
    intervalMs: options.pollMs,
  });
  relay.start();
  options.logger.info({ stream: options.stream }, "relaying the outbox to NATS JetStream");
  return async () => {
    await relay.stop();
    await publisher.close();
  };
}
