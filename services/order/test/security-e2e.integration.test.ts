// user + payment + order over mutual TLS with bearer tokens, each with its own certificate (made by openssl for
// this run), on 127.0.0.1: the declared service-identity policy (only order may call PaymentService.Charge) and
// the end user's token passed on and verified again by every service.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Status, TransportSecurity, type ClientOptions } from "@lattice/kit";
import {
  dropSchema,
  grpcErrorOf,
  startTestService,
  testDatabaseUrl,
  TestPki,
  uniqueSchema,
  type TestCa,
  type TestCertificate,
  type TestService,
} from "@lattice/kit/testing";
import { OrderServiceService, OrderState } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { paymentModule } from "@lattice/payment/module";
import { userModule } from "@lattice/user/module";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orderModule } from "../src/module.js";

const ISSUER = "https://issuer.lattice.test";
const AUDIENCE = "lattice";
const SPIFFE = "spiffe://lattice.test/ns/test/sa";

describe("user + payment + order over mTLS with bearer tokens", () => {
  let pki: TestPki;
  let ca: TestCa;
  const certs: Record<string, TestCertificate> = {};
  let signingKey: CryptoKey;
  let jwksDir: string;
  const transports: TransportSecurity[] = [];
  const schemas = {
    user: uniqueSchema("sec_users"),
    payment: uniqueSchema("sec_payments"),
    order: uniqueSchema("sec_orders"),
  };
  let user: TestService, payment: TestService, order: TestService;

  const token = (subject: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(signingKey);

  /** The security settings of one service: its own certificate, the CA, the JWKS. */
  const securityEnv = (name: string) => ({
    TLS_MODE: "mtls",
    TLS_CERT_FILE: certs[name]!.certFile,
    TLS_KEY_FILE: certs[name]!.keyFile,
    TLS_CA_FILE: ca.certFile,
    JWT_JWKS_FILE: join(jwksDir, "jwks.json"),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  });

  /** Client options of a caller presenting `name`'s certificate to the service `server`. */
  const as = (name: string, server: string): ClientOptions => {
    const transport = new TransportSecurity(
      {
        TLS_MODE: "mtls",
        TLS_CERT_FILE: certs[name]!.certFile,
        TLS_KEY_FILE: certs[name]!.keyFile,
        TLS_CA_FILE: ca.certFile,
        TLS_REFRESH_MS: 60_000,
        TLS_LOAD_TIMEOUT_MS: 5_000,
      },
      pino({ level: "silent" }),
    );
    transports.push(transport);
    return {
      credentials: transport.channelCredentials(),
      channelOptions: transport.channelOptions(server),
      defaultTimeoutMs: 10_000,
    };
  };

  before(async () => {
    pki = await TestPki.create();
    ca = await pki.ca("lattice-test-ca");
    for (const name of ["user", "payment", "order", "greeter", "gateway"])
      certs[name] = await pki.leaf(ca, name, { dnsNames: [name, `${name}.test.svc`], uris: [`${SPIFFE}/${name}`] });
    const pair = await generateKeyPair("ES256", { extractable: true });
    signingKey = pair.privateKey;
    jwksDir = mkdtempSync(join(tmpdir(), "lattice-jwks-"));
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    writeFileSync(join(jwksDir, "jwks.json"), JSON.stringify({ keys: [jwk] }));

    const db = testDatabaseUrl();
    user = await startTestService(userModule, {
      env: { DATABASE_URL: db, DATABASE_SCHEMA: schemas.user, ...securityEnv("user") },
    });
    payment = await startTestService(paymentModule, {
      env: { DATABASE_URL: db, DATABASE_SCHEMA: schemas.payment, PROCESSOR_LATENCY_MS: "0", ...securityEnv("payment") },
    });
    order = await startTestService(orderModule, {
      env: {
        DATABASE_URL: db,
        DATABASE_SCHEMA: schemas.order,
        USER_SERVICE_ADDRESS: user.grpcAddress,
        PAYMENT_SERVICE_ADDRESS: payment.grpcAddress,
        ...securityEnv("order"),
      },
    });
  });
  after(async () => {
    for (const service of [order, payment, user]) await service.shutdown();
    for (const transport of transports) transport.close();
    for (const schema of Object.values(schemas)) await dropSchema(schema);
    pki.remove();
    rmSync(jwksDir, { recursive: true, force: true });
  });

  const item = { sku: "book-1", quantity: 1, unitPrice: { currencyCode: "EUR", amountMinor: 990 } };

  it("order charges through payment with its own certificate and the user's token, verified at every hop", async () => {
    const users = user.client(UserServiceService, as("gateway", "user"));
    // CreateUser is declared anonymous; the gateway's certificate is enough to connect.
    const { user: ada } = await users.createUser({
      user: { name: "", email: "ada@example.org", displayName: "Ada", etag: "" },
    });
    const orders = order.client(OrderServiceService, as("gateway", "order"));
    const { order: paid } = await orders.createOrder(
      { user: ada!.name, items: [item] },
      { metadata: { authorization: `Bearer ${await token("ada")}` } },
    );
    assert.equal(paid?.state, OrderState.ORDER_STATE_PAID);
    // The charge reached payment as a call from order (mTLS identity), carrying Ada's token.
    const finished = (service: TestService, method: string) =>
      service.logs.filter((line) => line.msg === "finished call" && line["grpc.method"] === method);
    assert.deepEqual(
      finished(payment, "Charge").map((line) => line["grpc.code"]),
      ["OK"],
    );
    // So did the user check: GetUser needs a token, which only Ada's forwarded one could satisfy.
    assert.deepEqual(
      finished(user, "GetUser").map((line) => line["grpc.code"]),
      ["OK"],
    );
  });

  it("refuses Charge from any other service, even with a valid token (PERMISSION_DENIED)", async () => {
    const payments = payment.client(PaymentServiceService, as("greeter", "payment"));
    const error = await grpcErrorOf(
      payments.charge(
        { order: "orders/00000000-0000-4000-8000-000000000001", amount: item.unitPrice, idempotencyKey: "k" },
        { metadata: { authorization: `Bearer ${await token("ada")}` } },
      ),
    );
    assert.equal(error.code, Status.PERMISSION_DENIED);
    assert.equal(error.detail("ErrorInfo")?.reason, "CALLER_NOT_ALLOWED");
    assert.match(error.message, /Charge may be called by order, not greeter/);
  });

  it("refuses an order without a token (UNAUTHENTICATED), and nothing is charged", async () => {
    const orders = order.client(OrderServiceService, as("gateway", "order"));
    const error = await grpcErrorOf(
      orders.createOrder({ user: "users/00000000-0000-4000-8000-000000000000", items: [item] }),
    );
    assert.equal(error.code, Status.UNAUTHENTICATED);
    const charges = payment.logs.filter((line) => line.msg === "finished call" && line["grpc.method"] === "Charge");
    assert.deepEqual(
      charges.map((line) => line["grpc.code"]),
      ["OK", "PermissionDenied"],
      "only the first test's charge and the refused one",
    );
  });
});
