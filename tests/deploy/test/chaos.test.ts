// First: grpc-js must load with the resolver that honours a `dns://<server>/` authority (see the module).
import "../src/use-dns-authority.js";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createClient, Status } from "@lattice/kit";
import { BREAKER_STATE_VALUE } from "@lattice/kit/internal";
import {
  dropSchema,
  eventually,
  grpcErrorOf,
  startTestDnsServer,
  testDatabaseUrl,
  uniqueSchema,
  type TestDnsServer,
} from "@lattice/kit/testing";
import { HealthCheckResponse_ServingStatus } from "@lattice/proto/grpc/health/v1/health";
import { OrderServiceService, OrderState } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { checkHealth } from "../src/health.js";
import { serviceImage } from "../src/images.js";
import { describeLoad, percentiles, startLoad } from "../src/load.js";
import { paymentClientAsOrderMakesIt, plainPaymentClient } from "../src/payment-clients.js";
import { startTcpRelay, type TcpRelay } from "../src/tcp-relay.js";
import { ContainerRun, freeLoopbackPort, type ServiceContainer, type TestNetwork } from "../src/testcontainers.js";

/**
 * Chaos on the real images: payment replicas restarted, killed and frozen under load, seen from clients built as
 * the order service builds its own, and end to end through the order container. Figures go to the diagnostics.
 */

const euros = (amountMinor: number) => ({ currencyCode: "EUR", amountMinor });
const PAYMENT_SERVICE = "lattice.payment.v1.PaymentService";

/**
 * Where one test's replicas are published: loopback addresses 127.0.0.<first>… and one port free on all. So the
 * clients' traffic stays on loopback, and the address of a replica that stopped refuses connections at once.
 */
interface Loopback {
  readonly hosts: readonly string[];
  readonly port: number;
}
async function loopback(first: number, count: number): Promise<Loopback> {
  const hosts = Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
  return { hosts, port: await freeLoopbackPort(hosts) };
}

describe("chaos: payment replicas restarted, killed and frozen under load", () => {
  let run: ContainerRun | undefined;
  let network: TestNetwork | undefined;
  let relay: TcpRelay | undefined;
  let dns: TestDnsServer | undefined;
  /** The name server the containers ask, on the network's gateway. */
  let networkDns: TestDnsServer | undefined;
  /** The payment replicas' schema: one for all, as for the replicas of a Deployment. */
  let paymentsSchema = "";
  const schemas: string[] = [];
  let databaseUrl = "";

  /**
   * A payment replica on the run's network, sharing one schema with the others as replicas of a Deployment do,
   * its gRPC port published at `at` (a loopback address of its own, the port its siblings use).
   */
  const startPayment = (role: string, at: Loopback, index: number, env: Record<string, string> = {}) =>
    run!.startService("payment", role, {
      network: network!,
      env: { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: paymentsSchema, PROCESSOR_LATENCY_MS: "0", ...env },
      grpcOn: { host: at.hosts[index]!, port: at.port },
    });
  /** A dns: target asking the test's name server for `name`, as a client asks for a headless Service's name. */
  const target = (name: string, at: Loopback) => `dns://${dns!.authority}/${name}:${at.port}`;
  /** Points `name` at these replicas, as a headless Service's name lists its ready pods. */
  const route = (name: string, replicas: readonly ServiceContainer[]) =>
    dns!.setRecords(
      name,
      replicas.map(({ grpcAddress }) => grpcAddress.slice(0, grpcAddress.lastIndexOf(":"))),
    );
  /** A payment to read: charged once through one replica. */
  const seedPayment = async (replica: ServiceContainer) => {
    const client = createClient(PaymentServiceService, replica.grpcAddress, { defaultTimeoutMs: 10_000 });
    try {
      const key = randomUUID();
      const { payment } = await client.charge({ order: `orders/${key}`, amount: euros(500), idempotencyKey: key });
      return payment!.name;
    } finally {
      client.close();
    }
  };

  before(async () => {
    run = await ContainerRun.open(
      "chaos",
      (["payment", "user", "order", "greeter"] as const).map((service) => serviceImage(service)),
    );
    network = await run.createNetwork();
    // The test PostgreSQL server listens on loopback only; containers reach it through a relay on the network's
    // gateway (see images.test.ts).
    const database = new URL(testDatabaseUrl());
    relay = await startTcpRelay(network.gateway, { host: database.hostname, port: Number(database.port) });
    const inNetwork = new URL(database);
    inNetwork.hostname = network.gateway;
    inNetwork.port = String(relay.port);
    databaseUrl = inNetwork.toString();
    paymentsSchema = uniqueSchema("chaos_payments");
    schemas.push(paymentsSchema);
    dns = await startTestDnsServer();
    networkDns = await startTestDnsServer(network.gateway);
  });

  after(async () => {
    await run?.removeAll();
    await relay?.close();
    await dns?.close();
    await networkDns?.close();
    for (const name of schemas) await dropSchema(name);
  });

  it("rolling restart of two replicas under steady load: no call fails", async (t) => {
    const name = "roll.payment.test";
    const at = await loopback(11, 4);
    const replicas = await Promise.all([startPayment("roll-1", at, 0), startPayment("roll-2", at, 1)]);
    route(name, replicas);
    const payment = await seedPayment(replicas[0]);
    const registry = new Registry();
    const client = paymentClientAsOrderMakesIt(target(name, at), { registry });
    const load = startLoad({ callers: 8, call: () => client.getPayment({ name: payment }) });
    const served = async (count: number) => {
      const from = load.calls;
      await eventually(() => assert.ok(load.calls >= from + count), { withinMs: 20_000 });
    };
    const restarted: string[] = [];
    try {
      await served(200);
      assert.ok(dns!.queries(name) > 0, "the client resolves the name through the test's name server");
      // As a Deployment rolls with maxSurge 1, maxUnavailable 0: a new replica first, ready; then the old one
      // leaves the endpoints and gets SIGTERM.
      let live = [...replicas];
      for (const [index, old] of replicas.entries()) {
        const fresh = await startPayment(`roll-${index + 3}`, at, index + 2);
        live = [...live.filter((replica) => replica !== old), fresh];
        route(name, live);
        const stopped = old.stop();
        // It drains: readiness NOT_SERVING at once, calls still served for SHUTDOWN_DRAIN_MS.
        await eventually(
          async () =>
            assert.equal(
              await checkHealth(old.healthAddress, "readiness"),
              HealthCheckResponse_ServingStatus.NOT_SERVING,
            ),
          { withinMs: 5_000, intervalMs: 20 },
        );
        assert.equal(await stopped, 0, `${old.name} exits 0 on SIGTERM`);
        restarted.push(old.name);
        await served(100);
      }
      // Only the new replicas are left: calls still succeed.
      await served(200);
    } finally {
      const report = await load.stop();
      client.close();
      t.diagnostic(describeLoad(`rolling restart (${restarted.length} of 2 replicas replaced)`, report));
      assert.equal(report.failed, 0, describeLoad("rolling restart", report));
    }
  });

  it("SIGKILL of one of two replicas: a plain grpc-js client loses its calls in flight, Lattice's client none", async (t) => {
    const name = "kill.payment.test";
    // The processor takes 50 ms, so each caller has a call in flight most of the time.
    const at = await loopback(21, 2);
    const replicas = await Promise.all([
      startPayment("kill-1", at, 0, { PROCESSOR_LATENCY_MS: "50" }),
      startPayment("kill-2", at, 1, { PROCESSOR_LATENCY_MS: "50" }),
    ]);
    route(name, replicas);
    const plain = plainPaymentClient(target(name, at));
    const lattice = paymentClientAsOrderMakesIt(target(name, at), { registry: new Registry() });
    // A charge per call, each with its own idempotency key: the key is what makes Charge safe to send again.
    const charge = () => {
      const key = randomUUID();
      return { order: `orders/${key}`, amount: euros(990), idempotencyKey: key };
    };
    const callers = 16;
    const plainLoad = startLoad({ callers, call: () => plain.charge(charge(), 10_000) });
    const latticeLoad = startLoad({ callers, call: () => lattice.charge(charge()) });
    const served = async (count: number) => {
      const from = [plainLoad.calls, latticeLoad.calls];
      await eventually(() => assert.ok(plainLoad.calls >= from[0]! + count && latticeLoad.calls >= from[1]! + count), {
        withinMs: 20_000,
      });
    };
    try {
      await served(100);
      await replicas[0].kill();
      // The endpoints drop the dead pod once kubelet reports it; the clients have noticed the broken connection
      // long before.
      route(name, [replicas[1]]);
      await served(100);
    } finally {
      const [plainReport, latticeReport] = await Promise.all([plainLoad.stop(), latticeLoad.stop()]);
      plain.close();
      lattice.close();
      t.diagnostic(describeLoad(`plain grpc-js client, ${callers} callers`, plainReport));
      t.diagnostic(describeLoad(`Lattice client (retries), ${callers} callers`, latticeReport));
      assert.equal(latticeReport.failed, 0, describeLoad("Lattice client", latticeReport));
      // The control: the kill did cut calls in flight, and the plain client saw them as UNAVAILABLE.
      const unavailable = plainReport.failures.get("UNAVAILABLE")?.count ?? 0;
      assert.ok(unavailable > 0, `the kill cut no call in flight: ${describeLoad("plain client", plainReport)}`);
      assert.equal(unavailable, plainReport.failed, describeLoad("plain client", plainReport));
    }
  });

  it("a frozen replica: deadlines fire, the breaker opens and refuses at once, then closes on the first good probe", async (t) => {
    const name = "hung.payment.test";
    const at = await loopback(31, 1);
    const hung = await startPayment("hung", at, 0);
    route(name, [hung]);
    const payment = await seedPayment(hung);
    const deadlineMs = 300;
    const volume = 5;
    const resetMs = 1_000;
    const registry = new Registry();
    const client = paymentClientAsOrderMakesIt(target(name, at), {
      registry,
      env: {
        PAYMENT_CLIENT_TIMEOUT_MS: String(deadlineMs),
        PAYMENT_CLIENT_BREAKER_VOLUME_THRESHOLD: String(volume),
        PAYMENT_CLIENT_BREAKER_RESET_TIMEOUT_MS: String(resetMs),
      },
    });
    const labels = { target: "payment", grpc_service: PAYMENT_SERVICE, grpc_method: "GetPayment" };
    const metric = async (metricName: string, extra: Record<string, string> = {}) => {
      const values = (await registry.getSingleMetric(metricName)?.get())?.values ?? [];
      const wanted = { ...labels, ...extra };
      const found = values.find((value) => Object.entries(wanted).every(([key, label]) => value.labels[key] === label));
      return found?.value ?? 0;
    };
    const state = () => metric("grpc_client_circuit_breaker_state");
    const get = () => client.getPayment({ name: payment });
    try {
      // A call a connection is made for, so the freeze hits calls on an open connection, as in a running system.
      await get();
      assert.equal(await state(), BREAKER_STATE_VALUE.closed);
      await hung.pause();

      // Every call runs into its deadline; the breaker counts each, and opens once it has seen `volume` calls.
      const timedOut: number[] = [];
      for (let i = 1; i <= volume + 1; i++) {
        // The breaker hears of a call's end just after its caller does: let that land first.
        await setImmediate();
        if (i > 1 && (await state()) === BREAKER_STATE_VALUE.open) break;
        const started = performance.now();
        const error = await grpcErrorOf(get());
        timedOut.push(performance.now() - started);
        assert.equal(error.code, Status.DEADLINE_EXCEEDED, error.message);
      }
      await eventually(async () => assert.equal(await state(), BREAKER_STATE_VALUE.open));
      const openedAt = performance.now();
      // The success before the freeze counts as well: open after volume - 1 failures (4 of 5 calls failed).
      assert.equal(timedOut.length, volume - 1, "opens as soon as the minimum volume is reached");
      for (const elapsed of timedOut) {
        assert.ok(elapsed >= deadlineMs - 5, `a call failed before its deadline: ${elapsed.toFixed(1)} ms`);
        assert.ok(elapsed < deadlineMs + 250, `a call outlived its deadline: ${elapsed.toFixed(1)} ms`);
      }
      const deadlines = percentiles(timedOut);
      t.diagnostic(
        `frozen replica: ${timedOut.length} calls DEADLINE_EXCEEDED after ${deadlines.p50Ms.toFixed(0)} ms (p50), ` +
          `max ${deadlines.maxMs.toFixed(0)} ms, deadline ${deadlineMs} ms; breaker open`,
      );

      // Open: calls are refused without being sent, at once, naming the dependency.
      const refusals: number[] = [];
      for (let i = 0; i < 200; i++) {
        const started = performance.now();
        const error = await grpcErrorOf(get());
        refusals.push(performance.now() - started);
        assert.equal(error.code, Status.UNAVAILABLE);
        assert.match(error.message, /^payment is failing: circuit breaker open for \/lattice\.payment\.v1\./);
      }
      const refused = percentiles(refusals);
      t.diagnostic(
        `breaker open: ${refusals.length} calls refused, p50 ${(refused.p50Ms * 1000).toFixed(0)} µs, ` +
          `p99 ${(refused.p99Ms * 1000).toFixed(0)} µs, max ${refused.maxMs.toFixed(2)} ms`,
      );
      assert.ok(refused.p50Ms < 1, `refusals take ${refused.p50Ms.toFixed(3)} ms (p50)`);
      assert.ok(refused.p99Ms < 5, `refusals take ${refused.p99Ms.toFixed(3)} ms (p99)`);
      assert.equal(await metric("grpc_client_circuit_breaker_rejections_total"), refusals.length);

      // Unfrozen: after the reset timeout the breaker lets one probe through; its success closes it.
      await hung.unpause();
      const halfOpen = await eventually(
        async () => {
          assert.equal(await state(), BREAKER_STATE_VALUE.half_open);
          return performance.now();
        },
        { withinMs: resetMs + 2_000, intervalMs: 10 },
      );
      assert.ok(halfOpen - openedAt >= resetMs - 50, `half-open ${(halfOpen - openedAt).toFixed(0)} ms after opening`);
      const probe = await get();
      assert.equal(probe.payment?.name, payment);
      assert.equal(await state(), BREAKER_STATE_VALUE.closed, "the first good probe closes the breaker");
      t.diagnostic(
        `unfrozen: half-open ${(halfOpen - openedAt).toFixed(0)} ms after opening (reset timeout ${resetMs} ms), ` +
          `closed by the first probe, which took ${(performance.now() - halfOpen).toFixed(0)} ms`,
      );
      for (const entered of ["open", "half_open", "closed"])
        assert.equal(await metric("grpc_client_circuit_breaker_transitions_total", { state: entered }), 1, entered);
      await get();
    } finally {
      await hung.unpause().catch(() => undefined);
      client.close();
    }
  });
  it("order takes orders while payment is restarted and a replica killed: every order is PAID", async (t) => {
    const names = networkDns!;
    const inNetwork = (service: string) => `dns://${names.authority}/${service}.test:50051`;
    const ordersSchema = uniqueSchema("chaos_orders");
    const usersSchema = uniqueSchema("chaos_users");
    schemas.push(ordersSchema, usersSchema);
    const database = { DATABASE_URL: databaseUrl };
    const startPaymentPod = (role: string) =>
      run!.startService("payment", role, { network: network!, env: { ...database, DATABASE_SCHEMA: paymentsSchema } });
    const [user, ...payments] = await Promise.all([
      run!.startService("user", "e2e-user", { network: network!, env: { ...database, DATABASE_SCHEMA: usersSchema } }),
      startPaymentPod("e2e-payment-1"),
      startPaymentPod("e2e-payment-2"),
    ]);
    names.setRecords("user.test", [user.ip]);
    const routePayments = (replicas: readonly ServiceContainer[]) =>
      names.setRecords(
        "payment.test",
        replicas.map((replica) => replica.ip),
      );
    routePayments(payments);
    // The chart's dns mode: dns: targets to headless Services, round_robin. The variable makes grpc-js ask the
    // name server in the target.
    const order = await run!.startService("order", "e2e-order", {
      network: network!,
      env: {
        ...database,
        DATABASE_SCHEMA: ordersSchema,
        USER_SERVICE_ADDRESS: inNetwork("user"),
        PAYMENT_SERVICE_ADDRESS: inNetwork("payment"),
        GRPC_LB_POLICY: "round_robin",
        GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true",
      },
    });
    const users = createClient(UserServiceService, user.grpcAddress, { defaultTimeoutMs: 10_000 });
    // No retries: CreateOrder is not safe to send twice. Whatever order cannot absorb, this caller sees.
    const orders = createClient(OrderServiceService, order.grpcAddress, { defaultTimeoutMs: 15_000 });
    const { user: ada } = await users.createUser({
      user: { name: "", email: `ada-${run!.id}@example.org`, displayName: "Ada", etag: "" },
    });
    const item = { sku: "book-1", quantity: 1, unitPrice: euros(1250) };
    const load = startLoad({
      callers: 4,
      call: async () => {
        const { order: placed } = await orders.createOrder({ user: ada!.name, items: [item] });
        if (placed?.state !== OrderState.ORDER_STATE_PAID)
          throw new Error(`order ${placed?.name ?? "?"} is ${OrderState[placed?.state ?? 0]}`);
      },
    });
    const served = async (count: number) => {
      const from = load.calls;
      await eventually(() => assert.ok(load.calls >= from + count), { withinMs: 30_000 });
    };
    try {
      await served(20);
      // A rolling restart of payment: a new replica, then the old one leaves the records and stops; twice.
      let live = [...payments];
      for (const [index, old] of payments.entries()) {
        const fresh = await startPaymentPod(`e2e-payment-${index + 3}`);
        live = [...live.filter((replica) => replica !== old), fresh];
        routePayments(live);
        assert.equal(await old.stop(), 0);
        await served(20);
      }
      // Then one of the new replicas dies.
      const [dying, survivor] = live;
      await dying!.kill();
      routePayments([survivor!]);
      await served(40);
    } finally {
      const report = await load.stop();
      users.close();
      orders.close();
      t.diagnostic(describeLoad("CreateOrder through order, payment restarted then a replica killed", report));
      assert.equal(report.failed, 0, describeLoad("CreateOrder", report));
    }
    // Order's retries absorbed every failure before its circuit breaker for payment counted one.
    const metrics = await (await fetch(`http://${order.adminAddress}/metrics`)).text();
    const charge = `target="payment",grpc_service="${PAYMENT_SERVICE}",grpc_method="Charge"`;
    assert.ok(metrics.includes(`grpc_client_circuit_breaker_state{${charge}} 0`), "order's breaker stayed closed");
    assert.ok(!metrics.includes(`grpc_client_circuit_breaker_transitions_total{${charge},state="open"}`));
  });
});
