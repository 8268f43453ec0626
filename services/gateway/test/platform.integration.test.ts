import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { EventSource } from "eventsource";
import { contractRegistry } from "@lattice/kit";
import { startTestService, testDatabaseUrl, testNatsUrl, uniqueSchema, type TestService } from "@lattice/kit/testing";
import { greeterModule } from "@lattice/greeter/module";
import { orderModule } from "@lattice/order/module";
import { paymentModule } from "@lattice/payment/module";
import { userModule } from "@lattice/user/module";
import { createGatewayModule } from "../src/module.js";

/**
 * The gateway in front of the real services (PostgreSQL and NATS from the test environment): REST calls, an order
 * watched over Server-Sent Events by a browser-style EventSource, and gRPC-Web from connect-web's client.
 */
describe("the gateway in front of the platform", () => {
  const services: TestService[] = [];
  let gateway: TestService;
  let url = "";

  before(async () => {
    const db = testDatabaseUrl();
    const greeter = await startTestService(greeterModule);
    const user = await startTestService(userModule, {
      env: { DATABASE_URL: db, DATABASE_SCHEMA: uniqueSchema("gw_users") },
    });
    const payment = await startTestService(paymentModule, {
      env: {
        DATABASE_URL: db,
        DATABASE_SCHEMA: uniqueSchema("gw_payments"),
        PROCESSOR_LATENCY_MS: "200",
        NATS_URL: testNatsUrl(),
        OUTBOX_POLL_MS: "20",
      },
    });
    const order = await startTestService(orderModule, {
      env: {
        DATABASE_URL: db,
        DATABASE_SCHEMA: uniqueSchema("gw_orders"),
        USER_SERVICE_ADDRESS: user.grpcAddress,
        PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
        NATS_URL: testNatsUrl(),
        OUTBOX_POLL_MS: "20",
      },
    });
    services.push(greeter, user, payment, order);
    gateway = await startTestService(
      createGatewayModule({ onListening: (listener) => (url = listener.url.replace("0.0.0.0", "127.0.0.1")) }),
      {
        env: {
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: "0",
          GREETER_SERVICE_ADDRESS: greeter.grpcAddress,
          USER_SERVICE_ADDRESS: user.grpcAddress,
          PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
          ORDER_SERVICE_ADDRESS: order.grpcAddress,
          GATEWAY_CORS_ORIGINS: "*",
        },
      },
    );
  });

  after(async () => {
    await gateway[Symbol.asyncDispose]();
    for (const service of services.reverse()) await service[Symbol.asyncDispose]();
  });

  async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(url + path, { method: "POST", body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  test("REST: a user, then an order watched over Server-Sent Events until it is settled", async () => {
    const created = await post("/v1/users", { email: `ada-${Date.now()}@example.com`, displayName: "Ada" });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const user = (created.json["user"] as { name: string }).name;
    assert.match(user, /^users\//);

    const list = await fetch(`${url}/v1/users?pageSize=100`);
    assert.equal(list.status, 200);
    assert.ok(((await list.json()) as { users: unknown[] }).users.length >= 1);

    const ordered = await post("/v1/orders", {
      user,
      items: [{ sku: "book-1", quantity: 2, unitPrice: { currencyCode: "EUR", amountMinor: "990" } }],
    });
    assert.equal(ordered.status, 200, JSON.stringify(ordered.json));
    const order = ordered.json["order"] as { name: string; total: { amountMinor: string } };
    assert.equal(order.total.amountMinor, "1980");

    const states = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      const source = new EventSource(`${url}/v1/${order.name}:watch`);
      const timer = setTimeout(() => {
        source.close();
        reject(new Error(`no status event within 20 s; states seen: ${seen.join(", ")}`));
      }, 20_000);
      source.onmessage = (event) =>
        seen.push((JSON.parse(String(event.data)) as { order: { state: string } }).order.state);
      source.addEventListener("status", (event) => {
        clearTimeout(timer);
        source.close();
        const status = JSON.parse(String(event.data)) as { code: number };
        if (status.code === 0) resolve(seen);
        else reject(new Error(`stream ended with ${String(event.data)}`));
      });
      source.onerror = () => {
        clearTimeout(timer);
        source.close();
        reject(new Error("EventSource failed"));
      };
    });
    assert.ok(states.length >= 1);
    assert.ok(["ORDER_STATE_PAID", "ORDER_STATE_PAYMENT_FAILED"].includes(states.at(-1)!), states.join(", "));

    const missing = await fetch(`${url}/v1/orders/00000000-0000-4000-8000-000000000000`);
    assert.equal(missing.status, 404);
    const invalid = await post("/v1/users", { email: "", displayName: "" });
    assert.equal(invalid.status, 400);
    const details = invalid.json["details"] as { "@type": string; fieldViolations: { field: string }[] }[];
    assert.equal(details[0]!["@type"], "type.googleapis.com/google.rpc.BadRequest");
    assert.ok(details[0]!.fieldViolations.length >= 1);
  });

  test("gRPC-Web from connect-web: unary, server streaming, an error with details", async () => {
    type Method = (request: object, options?: CallOptions) => Promise<object> & AsyncIterable<object>;
    const transport = createGrpcWebTransport({ baseUrl: url });
    const service = (name: string): DescService => contractRegistry().getService(name)!;
    const greeter = createClient(service("lattice.greeter.v1.GreeterService"), transport) as unknown as Record<
      "greet" | "listGreetings",
      Method
    >;
    const greeting = (await greeter.greet({ name: "Ada", language: 2 })) as { message: string };
    assert.equal(greeting.message, "Bonjour, Ada !");
    const streamed: number[] = [];
    for await (const g of greeter.listGreetings({ name: "Ada", count: 3 }))
      streamed.push((g as { sequence: number }).sequence);
    assert.deepEqual(streamed, [1, 2, 3]);
    const users = createClient(service("lattice.user.v1.UserService"), transport) as unknown as Record<
      "createUser",
      Method
    >;
    await assert.rejects(users.createUser({ user: { email: "not an address" } }), (error: unknown) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.InvalidArgument);
      assert.ok(error.details.length >= 1);
      return true;
    });
  });
});
