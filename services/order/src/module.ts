import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  baseConfigSchema,
  databaseConfig,
  defineService,
  openDatabase,
  outboxConfig,
  startEventConsumer,
  startOutboxRelay,
} from "@lattice/kit";
import { PaymentDeclined, PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
import { GrpcPaymentGateway, GrpcUserDirectory } from "./downstream.js";
import { orderHandler } from "./handler.js";
import { Orders } from "./orders.js";
import { PgOrderRepository } from "./pg-order-repository.js";

export const orderConfigSchema = baseConfigSchema.extend({
  GRPC_PORT: baseConfigSchema.shape.GRPC_PORT.default(50054),
  ADMIN_PORT: baseConfigSchema.shape.ADMIN_PORT.default(8084),
  HEALTH_PORT: baseConfigSchema.shape.HEALTH_PORT.default(8094),
  ...databaseConfig("orders"),
  ...outboxConfig,
  /** gRPC targets of the services orders depend on, e.g. "dns:///user:50051". */
  USER_SERVICE_ADDRESS: z.string().min(1),
  PAYMENT_SERVICE_ADDRESS: z.string().min(1),
});

const migrations = fileURLToPath(new URL("../../migrations", import.meta.url));

/** The order service: checks users and charges through their services, keeps orders in its own schema. */
export const orderModule = defineService({
  name: "order",
  configSchema: orderConfigSchema,
  async setup({ server, config, logger }) {
    const pool = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, migrations, logger });
    const repository = new PgOrderRepository(pool, config.DATABASE_URL, config.DATABASE_SCHEMA);
    const clientOptions = { loadBalancing: config.GRPC_LB_POLICY };
    const users = GrpcUserDirectory.connect(config.USER_SERVICE_ADDRESS, clientOptions);
    const payments = GrpcPaymentGateway.connect(config.PAYMENT_SERVICE_ADDRESS, clientOptions);
    const orders = new Orders(repository, users, payments);
    server.addService(OrderServiceService, orderHandler(orders));
    const stopConsumer = config.NATS_URL
      ? await startEventConsumer({
          natsUrl: config.NATS_URL,
          stream: "LATTICE_PAYMENT",
          subjects: ["lattice.payment.v1.>"],
          durable: "order-service",
          handle: (subject, data) => settleFrom(orders, subject, data),
          logger,
        })
      : async () => {};
    const stopRelay = await startOutboxRelay({
      pool,
      natsUrl: config.NATS_URL,
      pollMs: config.OUTBOX_POLL_MS,
      stream: "LATTICE_ORDER",
      subjects: ["lattice.order.v1.>"],
      logger,
    });
    return async () => {
      await stopConsumer();
      await stopRelay();
      users.close();
      payments.close();
      await repository.close();
      await pool.end();
    };
  },
});

/** Payment events settle orders still PENDING (their caller left mid-charge); other events are not for orders. */
async function settleFrom(orders: Orders, subject: string, data: Uint8Array): Promise<void> {
  const event =
    subject === "lattice.payment.v1.PaymentSucceeded"
      ? { payment: PaymentSucceeded.decode(data).payment, approved: true }
      : subject === "lattice.payment.v1.PaymentDeclined"
        ? { payment: PaymentDeclined.decode(data).payment, approved: false }
        : undefined;
  const orderId = event?.payment?.order.replace(/^orders\//, "");
  if (!event?.payment || !orderId) return;
  await orders.settleFromPayment(orderId, event.payment.name.replace(/^payments\//, ""), event.approved);
}
