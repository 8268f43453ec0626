import { z } from "zod";
import { defineService, serviceDeclaration } from "@lattice/kit";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { paymentHandler } from "./handler.js";
import { Payments } from "./payments.js";
import { PgPaymentRepository } from "./pg-payment-repository.js";
import { SimulatedProcessor } from "./simulated-processor.js";

const rate = z.coerce.number().min(0).max(1);

/**
 * The payment service: migrates its schema at start, serves lattice.payment.v1.PaymentService, and relays its
 * outbox to NATS JetStream when NATS_URL is set.
 */
export const paymentModule = defineService({
  declaration: serviceDeclaration(import.meta.url),
  config: {
    /** The simulated processor: latency of each call (ms), share of declined charges, share of failed calls. */
    PROCESSOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(50),
    PROCESSOR_DECLINE_RATE: rate.default(0),
    PROCESSOR_FAILURE_RATE: rate.default(0),
  },
  async setup({ server, config, database, events }) {
    const { pool } = await database();
    const processor = new SimulatedProcessor({
      latencyMs: config.PROCESSOR_LATENCY_MS,
      declineRate: config.PROCESSOR_DECLINE_RATE,
      failureRate: config.PROCESSOR_FAILURE_RATE,
    });
    server.addService(PaymentServiceService, paymentHandler(new Payments(new PgPaymentRepository(pool), processor)));
    await events.publishOutbox(pool);
  },
});
