import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createClient, Status } from "@lattice/kit";
import { dropSchema, grpcErrorOf, testDatabaseUrl, uniqueSchema } from "@lattice/kit/testing";
import { Language, GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { OrderServiceService, OrderState } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { HealthCheckResponse_ServingStatus } from "@lattice/proto/grpc/health/v1/health";
import { checkHealth } from "../src/health.js";
import { findInLayers } from "../src/image-layers.js";
import { serviceImage, services, type ServiceName } from "../src/images.js";
import { podman, requirePodman } from "../src/podman.js";
import { repositoryRoot } from "../src/repository.js";
import { startTcpRelay, type TcpRelay } from "../src/tcp-relay.js";
import { ContainerRun, type ServiceContainer, type TestNetwork } from "../src/testcontainers.js";

const suffix = randomBytes(4).toString("hex");
const execFileAsync = promisify(execFile);
const calls = { defaultTimeoutMs: 15_000 };
const euros = (amountMinor: number) => ({ currencyCode: "EUR", amountMinor });

/** The checkout's commit, abbreviated as scripts/containers/build.sh writes it into the revision label. */
async function gitHead(): Promise<string> {
  const { stdout } = await execFileAsync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: repositoryRoot });
  return stdout.trim();
}

/** Stops a service container with SIGTERM and checks the kit's graceful shutdown: drain, then exit 0. */
async function stopsGracefully(service: ServiceContainer): Promise<void> {
  assert.equal(await service.stop(), 0, `${service.name} exits 0 on SIGTERM`);
  const messages = await service.messages();
  const draining = messages.indexOf("shutting down: not serving, draining");
  assert.ok(draining >= 0, `${service.name} logs the drain: ${messages.join(" | ")}`);
  assert.ok(messages.indexOf("shut down") > draining, `${service.name} logs the end of the shutdown after the drain`);
}

describe("service images (podman)", () => {
  const schemas: string[] = [];
  let run: ContainerRun | undefined;
  let network: TestNetwork | undefined;
  let relay: TcpRelay | undefined;
  /** The test PostgreSQL server's URL as the containers reach it. */
  let databaseUrl = "";

  const schema = (prefix: string) => {
    const name = uniqueSchema(`image_${prefix}`);
    schemas.push(name);
    return name;
  };
  const start = (service: ServiceName, role: string, env: Record<string, string> = {}) =>
    run!.startService(service, role, { network: network!, env });

  before(async () => {
    // The CLI inspects and saves images; containers are run through testcontainers on podman's API.
    await requirePodman();
    run = await ContainerRun.open(
      "images",
      services.map((service) => serviceImage(service)),
    );
    network = await run.createNetwork();
    // The database: the test PostgreSQL server listens on the host's loopback only. Containers reach it through
    // a relay in this process that listens on the gateway address of the network created above, i.e. on the
    // host end of that network's private bridge; the relay connects to 127.0.0.1. So database traffic stays on
    // loopback and inside the network this test made; neither the server nor the relay takes an outside address.
    const database = new URL(testDatabaseUrl());
    relay = await startTcpRelay(network.gateway, { host: database.hostname, port: Number(database.port) });
    const inNetwork = new URL(database);
    inNetwork.hostname = network.gateway;
    inNetwork.port = String(relay.port);
    databaseUrl = inNetwork.toString();
  });

  after(async () => {
    await run?.removeAll();
    await relay?.close();
    for (const name of schemas) await dropSchema(name);
  });

  it("images: numeric non-root user, the service's main as entrypoint, production env, ports, OCI labels", async () => {
    const head = await gitHead();
    for (const service of services) {
      const [image] = JSON.parse(await podman(["image", "inspect", serviceImage(service)])) as {
        Config: {
          User: string;
          Entrypoint: string[];
          Cmd?: string[] | null;
          Env: string[];
          ExposedPorts: Record<string, unknown>;
        };
        Labels: Record<string, string> | null;
      }[];
      assert.ok(image);
      assert.equal(image.Config.User, "10001:10001");
      assert.deepEqual(image.Config.Entrypoint, ["node", "/app/main.js"]);
      assert.deepEqual(image.Config.Cmd ?? [], [], `${service}: no arguments inherited from the base's CMD`);
      for (const env of ["NODE_ENV=production", "GRPC_PORT=50051", "ADMIN_PORT=8081", "HEALTH_PORT=8091"])
        assert.ok(image.Config.Env.includes(env), `${service}: ${env}`);
      assert.ok(!image.Config.Env.some((env) => env.startsWith("NODE_EXTRA_CA_CERTS")), `${service}: no CA setting`);
      assert.deepEqual(Object.keys(image.Config.ExposedPorts).sort(), ["50051/tcp", "8081/tcp", "8091/tcp"]);
      const labels = image.Labels ?? {};
      assert.equal(labels["org.opencontainers.image.title"], `lattice-${service}`);
      assert.match(labels["org.opencontainers.image.version"] ?? "", /^\d+\.\d+\.\d+/);
      assert.ok(
        (labels["org.opencontainers.image.revision"] ?? "").startsWith(head),
        `${service}: revision label ${labels["org.opencontainers.image.revision"]} is the checkout's commit ${head}`,
      );
      assert.ok("org.opencontainers.image.source" in labels, `${service}: source label`);
      const main = await podman([
        "run",
        "--rm",
        "--entrypoint",
        "readlink",
        serviceImage(service),
        "-f",
        "/app/main.js",
      ]);
      assert.equal(main.trim(), `/app/services/${service}/dist/src/main.js`);
    }
  });

  it("no layer of any image holds the build's CA bundle or a secret file", async () => {
    const bundle = process.env["NPM_CA_BUNDLE"];
    if (!bundle) throw new Error("NPM_CA_BUNDLE is not set: run the image tests through `npm test` (scripts/test.sh)");
    const found = await findInLayers(
      services.map((service) => serviceImage(service)),
      { content: await readFile(bundle), namePattern: /(^|\/)run\/secrets\/.|npm_ca/ },
    );
    assert.deepEqual(found, []);
  });

  it("greeter: serves through its published port as uid 10001 on a read-only root, probes itself, drains", async () => {
    const greeter = await start("greeter", "greeter");
    const client = createClient(GreeterServiceService, greeter.grpcAddress, calls);
    try {
      const reply = await client.greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH });
      assert.equal(reply.message, "Hello, Ada!");
      // The health port kubelet probes (HEALTH_PORT from the image's env).
      assert.equal(await checkHealth(greeter.healthAddress, "readiness"), HealthCheckResponse_ServingStatus.SERVING);
      assert.equal(await checkHealth(greeter.healthAddress, "liveness"), HealthCheckResponse_ServingStatus.SERVING);

      // PID 1 is node itself (so SIGTERM reaches the kit), running as 10001.
      const status = await greeter.exec(["cat", "/proc/1/status"]);
      assert.match(status.stdout, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
      assert.match(status.stdout, /^Gid:\s+10001\s+10001\s+10001\s+10001$/m);
      // The command line, not the thread name: Node 24 names its main thread "MainThread".
      const argv = (await greeter.exec(["cat", "/proc/1/cmdline"])).stdout.split("\0");
      assert.deepEqual(argv.slice(0, 2), ["node", "/app/main.js"]);
      const write = await greeter.exec(["touch", "/tmp/written"]);
      assert.notEqual(write.code, 0);
      assert.match(write.stderr, /Read-only file system/);

      const probe = await greeter.exec(["health-probe"]);
      assert.equal(probe.code, 0, `health-probe: ${probe.stdout}${probe.stderr}`);
      const unknown = await greeter.exec(["health-probe", "--service=lattice.nothing.v1.Nothing"]);
      assert.notEqual(unknown.code, 0, "health-probe fails for a service the server does not know");
      // The chart's preStop hook is `sleep <seconds>`: the image must carry that command.
      const preStop = await greeter.exec(["sleep", "0.1"]);
      assert.equal(preStop.code, 0, `preStop sleep: ${preStop.stderr}`);
    } finally {
      client.close();
    }
    await stopsGracefully(greeter);
  });

  it("user: CreateUser through the published port, then a clean drain", async () => {
    const user = await start("user", "user", { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema("users") });
    const client = createClient(UserServiceService, user.grpcAddress, calls);
    try {
      const { user: ada } = await client.createUser({
        user: { name: "", email: `ada-${suffix}@example.org`, displayName: "Ada", etag: "" },
      });
      assert.match(ada?.name ?? "", /^users\//);
    } finally {
      client.close();
    }
    await stopsGracefully(user);
  });

  it("payment: Charge through the published port, then a clean drain", async () => {
    const payment = await start("payment", "payment", {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema("payments"),
      PROCESSOR_LATENCY_MS: "0",
    });
    const client = createClient(PaymentServiceService, payment.grpcAddress, calls);
    try {
      const orderId = randomUUID();
      const { payment: charged } = await client.charge({
        order: `orders/${orderId}`,
        amount: euros(990),
        idempotencyKey: orderId,
      });
      assert.equal(charged?.state, PaymentState.PAYMENT_STATE_SUCCEEDED);
    } finally {
      client.close();
    }
    await stopsGracefully(payment);
  });

  it("order: starts on its own, answers GetOrder from its database, then a clean drain", async () => {
    const order = await start("order", "order", {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema("orders"),
      // Not called here: CreateOrder across the services is the network test below.
      USER_SERVICE_ADDRESS: "user.invalid:50051",
      PAYMENT_SERVICE_ADDRESS: "payment.invalid:50051",
    });
    const client = createClient(OrderServiceService, order.grpcAddress, calls);
    try {
      const missing = await grpcErrorOf(client.getOrder({ name: `orders/${randomUUID()}` }));
      assert.equal(missing.code, Status.NOT_FOUND);
    } finally {
      client.close();
    }
    await stopsGracefully(order);
  });

  it("a podman network: order reaches user and payment by container name, as through Service DNS", async () => {
    const user = await start("user", "net-user", { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema("users") });
    const payment = await start("payment", "net-payment", {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema("payments"),
      PROCESSOR_LATENCY_MS: "0",
    });
    const order = await start("order", "net-order", {
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema("orders"),
      USER_SERVICE_ADDRESS: `${user.name}:50051`,
      PAYMENT_SERVICE_ADDRESS: `${payment.name}:50051`,
    });
    const users = createClient(UserServiceService, user.grpcAddress, calls);
    const orders = createClient(OrderServiceService, order.grpcAddress, calls);
    const payments = createClient(PaymentServiceService, payment.grpcAddress, calls);
    try {
      const { user: ada } = await users.createUser({
        user: { name: "", email: `ada-net-${suffix}@example.org`, displayName: "Ada", etag: "" },
      });
      const item = { sku: "book-1", quantity: 2, unitPrice: euros(1250) };
      const { order: paid } = await orders.createOrder({ user: ada!.name, items: [item] });
      assert.equal(paid?.state, OrderState.ORDER_STATE_PAID);
      assert.deepEqual(paid.total, euros(2500));
      const { payment: charge } = await payments.getPayment({ name: paid.payment });
      assert.equal(charge?.order, paid.name);
      assert.equal(charge.state, PaymentState.PAYMENT_STATE_SUCCEEDED);
    } finally {
      for (const client of [users, orders, payments]) client.close();
    }
    for (const service of [order, payment, user]) await stopsGracefully(service);
  });
});
