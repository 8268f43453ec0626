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
import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
import { GrpcPaymentGateway, GrpcUserDirectory } from "./downstream.js";
import { orderHandler } from "./handler.js";
import { Orders } from "./orders.js";
import { PgOrderRepository } from "./pg-order-repository.js";

export const orderConfigSchema = baseConfigSchema.extend({
  GRPC_PORT: baseConfigSchema.shape.GRPC_PORT.default(50054),
  ADMIN_PORT: baseConfigSchema.shape.ADMIN_PORT.default(8084),
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
    const users = GrpcUserDirectory.connect(config.USER_SERVICE_ADDRESS);
    const payments = GrpcPaymentGateway.connect(config.PAYMENT_SERVICE_ADDRESS);
    server.addService(OrderServiceService, orderHandler(new Orders(repository, users, payments)));
    const stopRelay = await startOutboxRelay({
      pool,
      natsUrl: config.NATS_URL,
      pollMs: config.OUTBOX_POLL_MS,
      stream: "LATTICE_ORDER",
      subjects: ["lattice.order.v1.>"],
      logger,
    });
    return async () => {
      await stopRelay();
      users.close();
      payments.close();
      await repository.close();
      await pool.end();
    };
  },
});
