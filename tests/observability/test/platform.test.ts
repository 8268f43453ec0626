import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createClient, Status } from "@lattice/kit";
import {
  dropSchema,
  eventually,
  grpcErrorOf,
  scrape,
  testDatabaseUrl,
  uniqueSchema,
  type Scrape,
} from "@lattice/kit/testing";
import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../src/otlp-receiver.js";
import { metricNamesIn, recordedNames, shippedQueries } from "../src/promql.js";
import { REPOSITORY_ROOT, startServiceProcess, type ServiceProcess } from "../src/service-processes.js";

const run = promisify(execFile);

/**
 * The platform as it runs in production, one process per service: the REST gateway, user, payment and order on a
 * PostgreSQL server and a NATS server of the test's own (so no other test's consumer takes order's events), exporting
 * their spans over OTLP/HTTP to a receiver in the test. The test is the browser: it sends the REST request with a
 * `traceparent` of its own, so the gateway continues a trace the test knows.
 */
describe("one request through gateway → order → user, payment → PostgreSQL → outbox → NATS → order's consumer", () => {
  const schemas = {
    user: uniqueSchema("obs_users"),
    payment: uniqueSchema("obs_payments"),
    order: uniqueSchema("obs_orders"),
  };
  const natsDir = mkdtempSync(join(tmpdir(), "lattice-obs-nats-"));
  let receiver: OtlpReceiver;
  let user: ServiceProcess, payment: ServiceProcess, order: ServiceProcess, gateway: ServiceProcess;
  let gatewayUrl = "";
  const started: ServiceProcess[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    const { stdout } = await run("bash", [join(REPOSITORY_ROOT, "scripts/deps/nats.sh"), "start", natsDir]);
    const natsUrl = stdout.trim();
    const common = {
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: natsUrl,
      OUTBOX_POLL_MS: "20",
      LOG_LEVEL: "info",
      // A line per call, so every service writes one inside the trace.
      LOG_CALLS: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    };
    user = await startServiceProcess("user", {
      ...common,
      DATABASE_SCHEMA: schemas.user,
      RATE_LIMITS: "lattice.user.v1.UserService/ListUsers=0.01:1",
    });
    started.push(user);
    payment = await startServiceProcess("payment", {
      ...common,
      DATABASE_SCHEMA: schemas.payment,
      PROCESSOR_LATENCY_MS: "20",
    });
    started.push(payment);
    order = await startServiceProcess("order", {
      ...common,
      DATABASE_SCHEMA: schemas.order,
      USER_SERVICE_ADDRESS: user.grpcAddress,
      PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
    });
    started.push(order);
    gateway = await startServiceProcess("gateway", {
      ...common,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: "0",
      ORDER_SERVICE_ADDRESS: order.grpcAddress,
      USER_SERVICE_ADDRESS: user.grpcAddress,
      PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
      // Not started: the gateway's client to it connects on first use.
      GREETER_SERVICE_ADDRESS: "127.0.0.1:1",
    });
    started.push(gateway);
    const listening = gateway.logs.find((line) => line["msg"] === "gateway listening");
    assert.ok(listening, "the gateway logged its HTTP address");
    gatewayUrl = String(listening["url"]);
  });

  after(async () => {
    for (const service of started.reverse()) await service.stop();
    await receiver.close();
    await run("bash", [join(REPOSITORY_ROOT, "scripts/deps/nats.sh"), "stop", natsDir]).catch(() => undefined);
    rmSync(natsDir, { recursive: true, force: true });
    for (const schema of Object.values(schemas)) await dropSchema(schema);
  });

  const traceId = randomBytes(16).toString("hex");
  const edgeSpanId = randomBytes(8).toString("hex");
  const REQUEST_ID = `obs-e2e-${traceId.slice(0, 8)}`;
  let paidOrder = "";

  it("is one trace: every span of every process under the edge's span, parent to child, with the right kinds and codes", async (t) => {
    const users = createClient(UserServiceService, user.grpcAddress, { defaultTimeoutMs: 10_000 });
    try {
      const { user: ada } = await users.createUser({
        user: { name: "", email: `ada.${traceId.slice(0, 6)}@example.org`, displayName: "Ada", etag: "" },
      });
      const item = { sku: "book-1", quantity: 2, unitPrice: { currencyCode: "EUR", amountMinor: "1250" } };
      const response = await fetch(`${gatewayUrl}/v1/orders`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          traceparent: `00-${traceId}-${edgeSpanId}-01`,
          "x-request-id": REQUEST_ID,
        },
        body: JSON.stringify({ user: ada!.name, items: [item] }),
      });
      const body = (await response.json()) as { order?: { name: string; state: string } };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.order?.state, "ORDER_STATE_PAID");
      paidOrder = body.order.name;
    } finally {
      users.close();
    }

    // The event's consumer and both relays run after the call returned: wait for their spans.
    const spans = await eventually(
      () => {
        const inTrace = receiver.spans.filter((span) => span.traceId === traceId);
        for (const name of [
          "send lattice.payment.v1.PaymentSucceeded",
          "process lattice.payment.v1.PaymentSucceeded",
          "send lattice.order.v1.OrderCreated",
          "send lattice.order.v1.OrderPaid",
        ])
          assert.ok(
            inTrace.some((span) => span.name === name),
            `${name} arrived`,
          );
        return inTrace;
      },
      { withinMs: 20_000, intervalMs: 100 },
    );
    assert.deepEqual(receiver.rejected, []);
    t.diagnostic(`span tree:\n${renderTree(spans, edgeSpanId)}`);

    const one = (service: string, kind: ReceivedSpan["kind"], name: string, parent?: ReceivedSpan): ReceivedSpan => {
      const found = spans.filter(
        (span) =>
          span.service === service &&
          span.kind === kind &&
          span.name === name &&
          (parent === undefined || span.parentSpanId === parent.spanId),
      );
      assert.equal(
        found.length,
        1,
        `one ${kind} span "${name}" in ${service}${parent ? ` under "${parent.name}"` : ""}`,
      );
      return found[0]!;
    };
    const children = (parent: ReceivedSpan) => spans.filter((span) => span.parentSpanId === parent.spanId);

    // gateway: the HTTP server span continues the browser's context, named by the route's template; its call to
    // order is its child, and order's server span continues that call.
    const rest = one("gateway", "server", "POST /v1/orders");
    assert.equal(rest.parentSpanId, edgeSpanId);
    assert.equal(rest.attributes["http.request.method"], "POST");
    assert.equal(rest.attributes["http.route"], "/v1/orders");
    assert.equal(rest.attributes["http.response.status_code"], 200);
    assert.equal(rest.attributes["lattice.request_id"], REQUEST_ID);
    const createOrderCall = one("gateway", "client", "lattice.order.v1.OrderService/CreateOrder", rest);
    const createOrder = one("order", "server", "lattice.order.v1.OrderService/CreateOrder", createOrderCall);
    assert.equal(createOrder.attributes["rpc.system"], "grpc");
    assert.equal(createOrder.attributes["rpc.service"], "lattice.order.v1.OrderService");
    assert.equal(createOrder.attributes["rpc.method"], "CreateOrder");
    assert.equal(createOrder.attributes["rpc.grpc.status_code"], Status.OK);
    assert.equal(createOrder.attributes["lattice.request_id"], REQUEST_ID);
    assert.equal(createOrder.status.code, "unset");

    // → user
    const getUserCall = one("order", "client", "lattice.user.v1.UserService/GetUser", createOrder);
    const getUser = one("user", "server", "lattice.user.v1.UserService/GetUser", getUserCall);
    assert.equal(getUser.attributes["lattice.request_id"], REQUEST_ID, "the request id travels with the trace");
    const userRead = children(getUser).find((span) => span.attributes["db.system.name"] === "postgresql");
    assert.ok(userRead, "user's statement is a child of its call");
    assert.equal(userRead.kind, "client");
    assert.equal(userRead.attributes["db.operation.name"], "SELECT");
    assert.match(String(userRead.attributes["db.namespace"]), new RegExp(`\\|${schemas.user}$`));

    // order's own writes: the order and its OrderCreated event in one transaction.
    const orderCreated = one("order", "producer", "create lattice.order.v1.OrderCreated", createOrder);
    assert.ok(
      children(orderCreated).some((span) => span.name === "INSERT outbox"),
      "the event's INSERT",
    );
    assert.ok(
      children(createOrder).some((span) => span.name === "INSERT orders"),
      "the order's INSERT",
    );

    // → payment, which writes its PaymentSucceeded event in its transaction.
    const chargeCall = one("order", "client", "lattice.payment.v1.PaymentService/Charge", createOrder);
    const charge = one("payment", "server", "lattice.payment.v1.PaymentService/Charge", chargeCall);
    assert.ok(children(charge).some((span) => span.name === "INSERT payments"));
    const paymentSucceeded = one("payment", "producer", "create lattice.payment.v1.PaymentSucceeded", charge);
    assert.equal(paymentSucceeded.attributes["messaging.system"], "nats");
    assert.equal(paymentSucceeded.attributes["messaging.operation.type"], "create");
    assert.ok(children(paymentSucceeded).some((span) => span.name === "INSERT outbox"));

    // → NATS: payment's relay publishes it later, continuing from the context stored with the event.
    const sent = one("payment", "producer", "send lattice.payment.v1.PaymentSucceeded", paymentSucceeded);
    assert.deepEqual(sent.links, [{ traceId, spanId: paymentSucceeded.spanId }]);
    assert.equal(sent.attributes["messaging.destination.name"], "lattice.payment.v1.PaymentSucceeded");
    assert.equal(sent.attributes["messaging.message.id"], paymentSucceeded.attributes["messaging.message.id"]);

    // → order's consumer continues the trace from the message headers and settles the order there.
    const processed = one("order", "consumer", "process lattice.payment.v1.PaymentSucceeded", paymentSucceeded);
    assert.equal(processed.attributes["messaging.consumer.group.name"], "order");
    assert.equal(processed.attributes["messaging.message.id"], paymentSucceeded.attributes["messaging.message.id"]);
    assert.equal(processed.status.code, "unset");
    assert.ok(
      children(processed).some((span) => span.attributes["db.system.name"] === "postgresql"),
      "the consumer's statements are its children",
    );

    // The order's own events, relayed by order. OrderPaid is written by whichever settles the order first: the
    // call once the charge returned, or the consumer once the payment's event arrived (both are in the trace).
    const orderPaid = spans.filter((span) => span.name === "create lattice.order.v1.OrderPaid");
    assert.equal(orderPaid.length, 1, "the order was settled once");
    assert.ok([createOrder.spanId, processed.spanId].includes(orderPaid[0]!.parentSpanId));
    one("order", "producer", "send lattice.order.v1.OrderCreated", orderCreated);
    one("order", "producer", "send lattice.order.v1.OrderPaid", orderPaid[0]);

    // Nothing in the trace hangs off a span that is not in it, and nothing failed.
    const ids = new Set([edgeSpanId, ...spans.map((span) => span.spanId)]);
    for (const span of spans)
      assert.ok(ids.has(span.parentSpanId), `${span.service} "${span.name}" has its parent in the trace`);
    assert.deepEqual(
      spans.filter((span) => span.status.code === "error").map((span) => span.name),
      [],
    );
    assert.deepEqual(new Set(spans.map((span) => span.service)), new Set(["gateway", "order", "user", "payment"]));
  });

  it("writes the trace's ids on the log lines of every service it went through", async () => {
    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    for (const [service, method] of [
      [order, "CreateOrder"],
      [user, "GetUser"],
      [payment, "Charge"],
    ] as const) {
      const server = spans.find(
        (span) => span.service === service.name && span.kind === "server" && span.name.endsWith(`/${method}`),
      );
      assert.ok(server);
      const line = await eventually(() => {
        const found = service.logs.find(
          (entry) =>
            entry["msg"] === "finished call" && entry["trace_id"] === traceId && entry["span_id"] === server.spanId,
        );
        assert.ok(found, `${service.name}'s "finished call" line of ${method} carries trace_id and span_id`);
        return found;
      });
      assert.equal(line["request_id"], REQUEST_ID);
      assert.equal(line["grpc.method"], method);
    }
  });

  it("marks a call that fails on the caller's side as failed for the caller only", async () => {
    const orders = createClient(OrderServiceService, order.grpcAddress, { defaultTimeoutMs: 10_000 });
    const failingTrace = randomBytes(16).toString("hex");
    try {
      const error = await grpcErrorOf(
        orders.createOrder(
          {
            user: "users/00000000-0000-4000-8000-000000000000",
            items: [{ sku: "b", quantity: 1, unitPrice: { currencyCode: "EUR", amountMinor: 1 } }],
          },
          { metadata: { traceparent: `00-${failingTrace}-${randomBytes(8).toString("hex")}-01` } },
        ),
      );
      assert.equal(error.code, Status.NOT_FOUND);
    } finally {
      orders.close();
    }
    const server = await eventually(() => {
      const found = receiver.spans.find(
        (span) => span.traceId === failingTrace && span.kind === "server" && span.service === "order",
      );
      assert.ok(found);
      return found;
    });
    assert.equal(server.attributes["rpc.grpc.status_code"], Status.NOT_FOUND);
    assert.equal(server.status.code, "unset", "NOT_FOUND is a correct answer on the server side");
  });

  describe("/metrics after these calls", () => {
    let scrapes: Record<"order" | "user" | "payment" | "gateway", Scrape>;
    before(async () => {
      // Two ListUsers at once: the rule allows a burst of 1, so the second is refused.
      const users = createClient(UserServiceService, user.grpcAddress, { defaultTimeoutMs: 10_000 });
      try {
        await users.listUsers({ pageSize: 10, pageToken: "" });
        assert.equal(
          (await grpcErrorOf(users.listUsers({ pageSize: 10, pageToken: "" }))).code,
          Status.RESOURCE_EXHAUSTED,
        );
      } finally {
        users.close();
      }
      // The outbox drains (both relays published everything) before the gauges are read.
      await eventually(async () => {
        for (const service of [order, payment])
          assert.equal((await scrape(`${service.adminUrl}/metrics`)).value("lattice_outbox_backlog_events"), 0);
      });
      scrapes = {
        order: await scrape(`${order.adminUrl}/metrics`),
        user: await scrape(`${user.adminUrl}/metrics`),
        payment: await scrape(`${payment.adminUrl}/metrics`),
        gateway: await scrape(`${gateway.adminUrl}/metrics`),
      };
    });

    const rpc = (service: string, method: string) => ({
      grpc_type: "unary",
      grpc_service: service,
      grpc_method: method,
    });
    const ORDER = "lattice.order.v1.OrderService";
    const USER = "lattice.user.v1.UserService";
    const PAYMENT = "lattice.payment.v1.PaymentService";

    it("has the server's go-grpc-prometheus series for every call made, by code", () => {
      const { order: o, user: u, payment: p } = scrapes;
      assert.equal(o.value("grpc_server_handled_total", { ...rpc(ORDER, "CreateOrder"), grpc_code: "OK" }), 1);
      assert.equal(o.value("grpc_server_handled_total", { ...rpc(ORDER, "CreateOrder"), grpc_code: "NotFound" }), 1);
      assert.equal(o.value("grpc_server_started_total", rpc(ORDER, "CreateOrder")), 2);
      assert.equal(o.value("grpc_server_msg_received_total", rpc(ORDER, "CreateOrder")), 2);
      assert.equal(o.value("grpc_server_msg_sent_total", rpc(ORDER, "CreateOrder")), 1);
      assert.equal(o.series("grpc_server_handling_seconds", rpc(ORDER, "CreateOrder"))[0]?.value, 2);
      assert.equal(p.value("grpc_server_handled_total", { ...rpc(PAYMENT, "Charge"), grpc_code: "OK" }), 1);
      assert.equal(u.value("grpc_server_handled_total", { ...rpc(USER, "GetUser"), grpc_code: "OK" }), 1);
      assert.equal(
        u.value("grpc_server_handled_total", { ...rpc(USER, "ListUsers"), grpc_code: "ResourceExhausted" }),
        1,
      );
      assert.equal(u.value("lattice_rate_limit_rejected_total", { grpc_service: USER, grpc_method: "ListUsers" }), 1);
      for (const scrapeOf of [o, u, p])
        assert.equal(scrapeOf.families.get("grpc_server_handling_seconds")?.type, "histogram");
    });

    it("has order's client series with go-grpc-prometheus names and labels, for user and payment", () => {
      const o = scrapes.order;
      for (const [service, method, calls] of [
        [USER, "GetUser", 2],
        [PAYMENT, "Charge", 1],
      ] as const) {
        const labels = rpc(service, method);
        assert.equal(o.value("grpc_client_started_total", labels), calls);
        assert.equal(o.value("grpc_client_msg_sent_total", labels), calls);
        assert.equal(o.series("grpc_client_handling_seconds", labels)[0]?.value, calls);
        assert.equal(o.value("grpc_client_retries_total", labels), 0);
        const handled = o.series("grpc_client_handled_total", labels);
        assert.deepEqual(Object.keys(handled[0]!.labels).sort(), [
          "grpc_code",
          "grpc_method",
          "grpc_service",
          "grpc_type",
        ]);
        assert.equal(o.families.get("grpc_client_handling_seconds")?.type, "histogram");
        assert.equal(
          o.value("grpc_client_circuit_breaker_state", {
            target: service === USER ? "user" : "payment",
            grpc_method: method,
          }),
          0,
        );
      }
      // GetUser for the unknown user answered NOT_FOUND: received no message.
      assert.equal(o.value("grpc_client_handled_total", { ...rpc(USER, "GetUser"), grpc_code: "NotFound" }), 1);
      assert.equal(o.value("grpc_client_msg_received_total", rpc(USER, "GetUser")), 1);
    });

    it("has the data path's gauges: pool in use, idle, waiting and size; outbox lag and backlog; redeliveries", () => {
      for (const name of ["order", "user", "payment"] as const) {
        const s = scrapes[name];
        assert.equal(s.value("lattice_db_pool_max_connections"), 10, name);
        assert.equal(s.value("lattice_db_pool_waiting_requests"), 0, name);
        // The relay's polls take a connection now and then: in use and idle add up to the connections open.
        const inUse = s.value("lattice_db_pool_connections", { state: "in_use" });
        const idle = s.value("lattice_db_pool_connections", { state: "idle" });
        assert.ok(
          inUse >= 0 && idle >= 0 && inUse + idle >= 1 && inUse + idle <= 10,
          `${name}: ${inUse} in use, ${idle} idle`,
        );
      }
      for (const name of ["order", "payment"] as const) {
        assert.equal(scrapes[name].value("lattice_outbox_lag_seconds"), 0, name);
        assert.equal(scrapes[name].value("lattice_outbox_backlog_events"), 0, name);
      }
      assert.equal(scrapes.order.families.get("lattice_events_redelivered_total")?.type, "counter");
      assert.equal(scrapes.order.value("lattice_events_redelivered_total"), 0);
      // Present at 0 before the first dead letter: the alert on their increase sees the first one.
      assert.deepEqual(
        scrapes.order
          .series("lattice_events_dead_lettered_total")
          .map(({ labels, value }) => `${labels["stream"]} ${labels["reason"]} ${value}`)
          .sort(),
        ["LATTICE_PAYMENT exhausted 0", "LATTICE_PAYMENT poison 0"],
      );
      for (const name of ["order", "user", "payment"] as const)
        assert.equal(scrapes[name].value("lattice_dependency_up", { dependency: "postgres" }), 1, name);
      for (const name of ["order", "payment"] as const)
        assert.equal(scrapes[name].value("lattice_dependency_up", { dependency: "nats" }), 1, name);
    });

    it("has the gateway's HTTP series for the REST call, by route template and status", () => {
      const created = scrapes.gateway.series("http_server_request_duration_seconds", {
        http_request_method: "POST",
        http_route: "/v1/orders",
        http_response_status_code: "200",
      });
      assert.equal(created.length, 1);
      assert.ok(created[0]!.value >= 1, "the order placed through the gateway is counted");
    });

    it("exports every metric the shipped dashboard and alerts query", () => {
      const exported = new Map<string, string>();
      for (const s of Object.values(scrapes))
        for (const family of s.families.values()) exported.set(family.name, family.type);
      const recorded = recordedNames();
      const missing: string[] = [];
      let checked = 0;
      for (const { where, expr } of shippedQueries()) {
        for (const name of metricNamesIn(expr)) {
          checked++;
          if (recorded.has(name)) continue;
          const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
          const found = exported.has(name) || (histogram !== null && exported.get(histogram[1]!) === "histogram");
          if (!found) missing.push(`${where}: ${name}`);
        }
      }
      assert.ok(checked > 50, `${checked} metric references checked`);
      assert.deepEqual(missing, []);
      assert.ok(paidOrder !== "");
    });
  });
});

/** The trace as an indented tree of "service kind name" lines, for the test's output. */
function renderTree(spans: readonly ReceivedSpan[], root: string): string {
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    const children = spans
      .filter((span) => span.parentSpanId === parent)
      .sort((a, b) => (a.startNanos < b.startNanos ? -1 : 1));
    for (const span of children) {
      lines.push(`${"  ".repeat(depth)}${span.service} ${span.kind} ${span.name}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(root, 0);
  return lines.join("\n");
}
