import type { DeclarationBlock, ServiceDeclaration } from "@lattice/kit";

/** A declaration as loadServiceDeclarations returns it, without reading a package.json. */
export function declared(
  name: string,
  block: Partial<DeclarationBlock> & Pick<DeclarationBlock, "ports">,
): ServiceDeclaration {
  return {
    name,
    directory: `/checkout/services/${name}`,
    grpcServices: [`lattice.${name}.v1.${name[0]!.toUpperCase()}${name.slice(1)}Service`],
    calls: [],
    ...block,
  };
}

export const greeter = declared("greeter", { ports: { grpc: 50051, admin: 8081, health: 8091 } });
export const user = declared("user", {
  ports: { grpc: 50052, admin: 8082, health: 8092 },
  database: { schema: "users" },
});
export const payment = declared("payment", {
  ports: { grpc: 50053, admin: 8083, health: 8093 },
  database: { schema: "payments" },
  events: { publishes: { stream: "LATTICE_PAYMENT", events: ["lattice.payment.v1.PaymentSucceeded"] }, consumes: [] },
});
export const order = declared("order", {
  ports: { grpc: 50054, admin: 8084, health: 8094 },
  calls: ["user", "payment"],
  database: { schema: "orders" },
  events: { consumes: [{ stream: "LATTICE_PAYMENT", events: ["lattice.payment.v1.PaymentSucceeded"] }] },
});
export const all = [greeter, order, payment, user];
