import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  baseConfigSchema,
  databaseConfig,
  defineService,
  openDatabase,
  outboxConfig,
  startOutboxRelay,
} from "@lattice/kit";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { paymentHandler } from "./handler.js";
import { Payments } from "./payments.js";
import { PgPaymentRepository } from "./pg-payment-repository.js";
import { SimulatedProcessor } from "./simulated-processor.js";

const rate = z.coerce.number().min(0).max(1);

export const paymentConfigSchema = baseConfigSchema.extend({
  GRPC_PORT: baseConfigSchema.shape.GRPC_PORT.default(50053),
  ADMIN_PORT: baseConfigSchema.shape.ADMIN_PORT.default(8083),
  HEALTH_PORT: baseConfigSchema.shape.HEALTH_PORT.default(8093),
  ...databaseConfig("payments"),
  ...outboxConfig,
  /** The simulated processor: latency of each call, share of declined charges, share of failed calls. */
  PROCESSOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(50),
  PROCESSOR_DECLINE_RATE: rate.default(0),
  PROCESSOR_FAILURE_RATE: rate.default(0),
});

const migrations = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * The payment service: migrates its schema at start, serves lattice.payment.v1.PaymentService, and relays its
 * outbox to NATS JetStream when NATS_URL is set.
 */
export const paymentModule = defineService({
  name: "payment",
  configSchema: paymentConfigSchema,
  async setup({ server, config, logger }) {
    const pool = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, migrations, logger });
    const processor = new SimulatedProcessor({
      latencyMs: config.PROCESSOR_LATENCY_MS,
      declineRate: config.PROCESSOR_DECLINE_RATE,
      failureRate: config.PROCESSOR_FAILURE_RATE,
    });
    server.addService(PaymentServiceService, paymentHandler(new Payments(new PgPaymentRepository(pool), processor)));
    const stopRelay = await startOutboxRelay({
      pool,
      natsUrl: config.NATS_URL,
      pollMs: config.OUTBOX_POLL_MS,
      stream: "LATTICE_PAYMENT",
      subjects: ["lattice.payment.v1.>"],
      logger,
    });
    return async () => {
      await stopRelay();
      await pool.end();
    };
  },
});
