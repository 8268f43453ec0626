import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { launcherOwnedKeys, processEnv, serviceEnv } from "../src/service-env.js";
import { all, declared, greeter, order, payment } from "./support.js";

const servers = { databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres", natsUrl: "nats://127.0.0.1:4222" };

describe("serviceEnv", () => {
  it("gives a service without needs its declared ports on 127.0.0.1 and nothing else", () => {
    assert.deepEqual(serviceEnv(greeter, all, servers), {
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "50051",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: "8081",
      HEALTH_PORT: "8091",
    });
  });

  it("adds DATABASE_URL, NATS_URL and each called peer's gRPC address from the declarations", () => {
    const env = serviceEnv(order, all, servers);
    assert.equal(env.DATABASE_URL, servers.databaseUrl);
    assert.equal(env.NATS_URL, servers.natsUrl);
    assert.equal(env.USER_SERVICE_ADDRESS, "127.0.0.1:50052");
    assert.equal(env.PAYMENT_SERVICE_ADDRESS, "127.0.0.1:50053");
    assert.equal(env.GRPC_PORT, "50054");
  });

  it("with --tls, turns mTLS on with the service's own certificate files; plaintext otherwise", () => {
    const env = serviceEnv(order, all, { ...servers, certsDir: "/repo/.lattice/certs" });
    assert.equal(env.TLS_MODE, "mtls");
    assert.equal(env.TLS_CERT_FILE, "/repo/.lattice/certs/order/tls.crt");
    assert.equal(env.TLS_KEY_FILE, "/repo/.lattice/certs/order/tls.key");
    assert.equal(env.TLS_CA_FILE, "/repo/.lattice/certs/order/ca.crt");
    assert.equal(serviceEnv(order, all, servers).TLS_MODE, undefined);
    // A certificate exported in the shell never becomes every service's identity.
    const inherited = { TLS_MODE: "mtls", TLS_CERT_FILE: "/home/me/mine.crt" };
    const plain = processEnv(inherited, order, serviceEnv(order, all, servers), { terminal: false });
    assert.equal(plain.TLS_MODE, undefined);
    assert.equal(plain.TLS_CERT_FILE, undefined);
  });

  it("leaves NATS_URL out when NATS is not running, so events wait in the outbox", () => {
    const env = serviceEnv(payment, all, { databaseUrl: servers.databaseUrl });
    assert.equal(env.NATS_URL, undefined);
    assert.equal(env.DATABASE_URL, servers.databaseUrl);
  });

  it("names the undeclared peer and the missing database", () => {
    const lost = declared("lost", { ports: { grpc: 1, admin: 2, health: 3 }, calls: ["nowhere"] });
    assert.throws(
      () => serviceEnv(lost, [...all, lost], servers),
      /lost calls "nowhere", which is not a declared service/,
    );
    assert.throws(() => serviceEnv(order, all, {}), /order declares a database, but no PostgreSQL is running/);
  });

  it("derives the variable of a hyphenated peer as the kit reads it", () => {
    const quotes = declared("shipping-quote", { ports: { grpc: 50060, admin: 8060, health: 8070 } });
    const caller = declared("caller", { ports: { grpc: 1, admin: 2, health: 3 }, calls: ["shipping-quote"] });
    assert.equal(serviceEnv(caller, [quotes, caller], {}).SHIPPING_QUOTE_SERVICE_ADDRESS, "127.0.0.1:50060");
  });
});

describe("processEnv", () => {
  it("drops what the launcher decides from the inherited environment, keeps the rest, and lets the declaration win", () => {
    const inherited = {
      PATH: "/bin",
      LOG_LEVEL: "debug",
      DATABASE_URL: "postgres://elsewhere",
      NATS_URL: "nats://elsewhere",
      GRPC_PORT: "1",
      USER_SERVICE_ADDRESS: "far:1",
    };
    const env = processEnv(inherited, greeter, serviceEnv(greeter, all, servers), { terminal: false });
    assert.equal(env.PATH, "/bin");
    assert.equal(env.LOG_LEVEL, "debug");
    assert.equal(env.DATABASE_URL, undefined, "the greeter declares no database");
    assert.equal(env.NATS_URL, undefined);
    assert.equal(env.GRPC_PORT, "50051");
    // Not a peer of the greeter: left as it was.
    assert.equal(env.USER_SERVICE_ADDRESS, "far:1");
    const orderEnv = processEnv(inherited, order, serviceEnv(order, all, servers), { terminal: false });
    assert.equal(orderEnv.USER_SERVICE_ADDRESS, "127.0.0.1:50052");
    assert.ok(launcherOwnedKeys(order).includes("PAYMENT_SERVICE_ADDRESS"));
  });

  it("logs pretty at a terminal and JSON otherwise, drains at once, and keeps the developer's choices", () => {
    assert.equal(processEnv({}, greeter, {}, { terminal: true }).LOG_FORMAT, "pretty");
    assert.equal(processEnv({ LOG_FORMAT: "auto" }, greeter, {}, { terminal: false }).LOG_FORMAT, "json");
    assert.equal(processEnv({ LOG_FORMAT: "json" }, greeter, {}, { terminal: true }).LOG_FORMAT, "json");
    assert.equal(processEnv({}, greeter, {}, { terminal: true }).SHUTDOWN_DRAIN_MS, "0");
    assert.equal(processEnv({ SHUTDOWN_DRAIN_MS: "300" }, greeter, {}, { terminal: true }).SHUTDOWN_DRAIN_MS, "300");
  });
});
