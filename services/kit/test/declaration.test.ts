import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  DeclarationError,
  declaredConfigSchema,
  defineService,
  loadConfig,
  peerAddressVariable,
  readDeclaration,
  streamSubjects,
} from "@lattice/kit";
import { startTestService, testDeclaration } from "@lattice/kit/testing";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { HealthCheckResponse_ServingStatus, HealthService } from "@lattice/proto/grpc/health/v1/health";
import { ADA, greeterModule, plainGreeter } from "./support/test-greeter.js";

/** A service folder holding `manifest` as its package.json; removed after the test. */
function serviceFolder(manifest: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "lattice-declaration-"));
  const folder = join(dir, "svc");
  mkdirSync(folder);
  writeFileSync(join(folder, "package.json"), JSON.stringify(manifest));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return folder;
}

const valid = {
  grpcServices: ["lattice.order.v1.OrderService"],
  ports: { grpc: 50054, admin: 8084, health: 8094 },
  calls: ["user", "payment"],
  database: { schema: "orders" },
  events: {
    publishes: { stream: "LATTICE_ORDER", events: ["lattice.order.v1.OrderPaid"] },
    consumes: [{ stream: "LATTICE_PAYMENT", events: ["lattice.payment.v1.PaymentSucceeded"] }],
  },
};

describe("service declarations", () => {
  it("are read from the lattice block of package.json, the name from the package name", () => {
    const folder = serviceFolder({ name: "@lattice/order", lattice: valid });
    const declaration = readDeclaration(folder);
    assert.equal(declaration.name, "order");
    assert.equal(declaration.directory, folder);
    assert.deepEqual(declaration.calls, ["user", "payment"]);
    assert.deepEqual(
      readDeclaration(serviceFolder({ name: "@lattice/x", lattice: { ...valid, calls: undefined } })).calls,
      [],
    );
  });

  it("name every problem, with the file, and refuse unknown keys", () => {
    const folder = serviceFolder({
      name: "@lattice/order",
      lattice: { ...valid, ports: { grpc: 70000, admin: 1, health: 2 }, calls: ["User Service"], databse: {} },
    });
    assert.throws(
      () => readDeclaration(folder),
      (error: unknown) => {
        assert.ok(error instanceof DeclarationError);
        assert.ok(error.message.startsWith(join(folder, "package.json")));
        for (const problem of ["lattice.ports.grpc", "lattice.calls.0", 'Unrecognized key: "databse"'])
          assert.ok(error.message.includes(problem), `${error.message} names ${problem}`);
        return true;
      },
    );
    assert.throws(() => readDeclaration(serviceFolder({ name: "order", lattice: valid })), /@lattice\/<service name>/);
    assert.throws(() => readDeclaration(serviceFolder({ name: "@lattice/order" })), /no "lattice" block/);
  });

  it("imply the service's configuration: ports, database, events and one address per service it calls", () => {
    const declaration = readDeclaration(serviceFolder({ name: "@lattice/order", lattice: valid }));
    const schema = declaredConfigSchema(declaration, {});
    assert.throws(() => loadConfig(schema, {}), /DATABASE_URL.*USER_SERVICE_ADDRESS.*PAYMENT_SERVICE_ADDRESS/);
    const config = loadConfig(schema, {
      DATABASE_URL: "postgres://localhost/db",
      USER_SERVICE_ADDRESS: "dns:///user:50051",
      PAYMENT_SERVICE_ADDRESS: "payment:50051",
    }) as Record<string, unknown>;
    assert.equal(config["GRPC_PORT"], 50054);
    assert.equal(config["HEALTH_PORT"], 8094);
    assert.equal(config["DATABASE_SCHEMA"], "orders");
    assert.equal(config["NATS_URL"], undefined, "optional: events wait in the outbox without it");
    assert.equal(peerAddressVariable("order-history"), "ORDER_HISTORY_SERVICE_ADDRESS");
    assert.deepEqual(streamSubjects(["a.v1.X", "a.v1.Y", "b.v2.Z"]), ["a.v1.>", "b.v2.>"]);
  });
});

describe("a module's setup against its declaration", () => {
  it("must add exactly the declared gRPC services", async () => {
    const extra = defineService({
      declaration: testDeclaration("extra", { grpcServices: ["lattice.greeter.v1.GreeterService"] }),
      setup({ server }) {
        server.addService(GreeterServiceService, plainGreeter);
        server.addService(HealthService, {
          check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
          async *watch() {},
          list: () => ({ statuses: {} }),
        });
      },
    });
    await assert.rejects(startTestService(extra), /added but not declared: grpc\.health\.v1\.Health/);
    const missing = defineService({
      declaration: testDeclaration("missing", { grpcServices: ["lattice.greeter.v1.GreeterService", "x.v1.Other"] }),
      setup({ server }) {
        server.addService(GreeterServiceService, plainGreeter);
      },
    });
    await assert.rejects(startTestService(missing), /declared but not added: x\.v1\.Other/);
  });

  it("connects only to services it declares it calls, at the declared address setting", async () => {
    await using target = await startTestService(greeterModule());
    const caller = defineService({
      declaration: testDeclaration("caller", {
        grpcServices: ["lattice.greeter.v1.GreeterService"],
        calls: ["greeter"],
      }),
      async setup({ server, connect }) {
        assert.throws(() => connect(GreeterServiceService, "payment"), /does not declare that it calls "payment"/);
        const greeter = connect(GreeterServiceService, "greeter");
        server.addService(GreeterServiceService, { ...plainGreeter, greet: (request) => greeter.greet(request) });
      },
    });
    await assert.rejects(startTestService(caller), /GREETER_SERVICE_ADDRESS/);
    await using service = await startTestService(caller, { env: { GREETER_SERVICE_ADDRESS: target.grpcAddress } });
    const answer = await service.client(GreeterServiceService).greet(ADA);
    assert.equal(answer.message, "hi Ada");
  });
});
