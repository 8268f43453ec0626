import { defineService, serviceDeclaration } from "@lattice/kit";
import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { GrpcPaymentGateway, GrpcUserDirectory } from "./downstream.js";
import { settleFromPayments } from "./events.js";
import { orderHandler } from "./handler.js";
import { Orders } from "./orders.js";
import { orderChannel, PgOrderRepository } from "./pg-order-repository.js";

/**
 * The order service: checks users and charges through their services, keeps orders in its own schema, publishes
 * its events and settles orders from the payment service's.
 */
export const orderModule = defineService({
  declaration: serviceDeclaration(import.meta.url),
  async setup({ server, database, connect, events }) {
    const { pool, schema, listener } = await database();
    const repository = new PgOrderRepository(pool, schema, listener(orderChannel(schema)));
    const orders = new Orders(
      repository,
      new GrpcUserDirectory(connect(UserServiceService, "user")),
      new GrpcPaymentGateway(connect(PaymentServiceService, "payment")),
    );
    server.addService(OrderServiceService, orderHandler(orders));
    await events.consume("LATTICE_PAYMENT", settleFromPayments(orders));
    await events.publishOutbox(pool);
  },
});
