import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import {
  ConfigError,
  createClient,
  HealthService,
  linkerdClientIdentity,
  loadConfig,
  parseRateLimits,
  ruleFor,
  ServingStatus,
  Status,
  TokenBuckets,
  type ServiceClient,
} from "@lattice/kit";
import { methodInfo } from "@lattice/kit/internal";
import { grpcErrorOf, startTestService, type TestService } from "@lattice/kit/testing";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { bearer, jwtEnv, signToken, testKeys, type TestKeys } from "./support/jwt.js";
import { userModule } from "./support/test-user.js";

describe("RATE_LIMITS", () => {
  it("parses rules for every method, a service and one method, with a default burst", () => {
    assert.deepEqual(
      parseRateLimits(" *=100:200, lattice.order.v1.OrderService/*=10,lattice.payment.v1.PaymentService/Charge=0.5:3"),
      [
        { selector: "*", perSecond: 100, burst: 200 },
        { selector: "lattice.order.v1.OrderService/*", perSecond: 10, burst: 10 },
        { selector: "lattice.payment.v1.PaymentService/Charge", perSecond: 0.5, burst: 3 },
      ],
    );
    assert.deepEqual(parseRateLimits(""), []);
  });

  it("refuses bad entries with a message naming them, at config load", () => {
    for (const [text, reason] of [
      ["Charge=5", /the method must be/],
      ["*=fast", /positive rate/],
      ["*=0", /positive rate/],
      ["*=5:0", /at least 1/],
      ["*=5:1.5", /integer/],
      ["*=1,*=2", /two rules/],
    ] as const)
      assert.throws(() => parseRateLimits(text), reason, text);
    assert.throws(
      () => loadConfig(userModule().configSchema, { RATE_LIMITS: "*=fast" }),
      (error: unknown) => error instanceof ConfigError && /RATE_LIMITS: "\*=fast"/.test(error.message),
    );
  });

  it("applies the most specific rule: the method's, its service's, then *", () => {
    const rules = parseRateLimits("*=1,lattice.user.v1.UserService/*=2,lattice.user.v1.UserService/GetUser=3");
    const rate = (path: string) => ruleFor(rules, methodInfo(path, false, false))?.perSecond;
    assert.equal(rate("/lattice.user.v1.UserService/GetUser"), 3);
    assert.equal(rate("/lattice.user.v1.UserService/ListUsers"), 2);
    assert.equal(rate("/lattice.order.v1.OrderService/GetOrder"), 1);
    assert.equal(
      ruleFor(parseRateLimits("lattice.user.v1.UserService/GetUser=3"), methodInfo("/a.B/C", false, false)),
      undefined,
    );
  });
});

describe("token buckets", () => {
  it("lets a burst through, then one call per refill, and says exactly how long to wait", () => {
    let now = 0;
    const buckets = new TokenBuckets({ selector: "*", perSecond: 4, burst: 2 }, () => now);
    assert.equal(buckets.take("a"), 0);
    assert.equal(buckets.take("a"), 0);
    assert.equal(buckets.take("a"), 250); // one token every 250 ms
    now = 100;
    assert.equal(buckets.take("a"), 150);
    assert.equal(buckets.take("b"), 0, "another caller has its own bucket");
    now = 250;
    assert.equal(buckets.take("a"), 0);
    assert.equal(buckets.take("a"), 250);
    now = 10_000; // long idle: back to a full burst, never more
    assert.equal(buckets.take("a"), 0);
    assert.equal(buckets.take("a"), 0);
    assert.ok(buckets.take("a") > 0);
  });

  it("forgets callers whose bucket has refilled", () => {
    let now = 0;
    const buckets = new TokenBuckets({ selector: "*", perSecond: 1, burst: 1 }, () => now);
    for (let i = 0; i < 100; i++) buckets.take(`caller-${i}`);
    assert.equal(buckets.size, 100);
    now = 61_000;
    buckets.take("late");
    assert.equal(buckets.size, 1);
  });
});

describe("rate limits on a real server", () => {
  let keys: TestKeys;
  let service: TestService;
  let users: ServiceClient<typeof UserServiceService>;
  before(async () => {
    keys = await testKeys();
    service = await startTestService(userModule(), {
      env: { ...jwtEnv(keys), RATE_LIMITS: "lattice.user.v1.UserService/GetUser=1:2" },
    });
    users = service.client(UserServiceService, { defaultTimeoutMs: 5_000 });
  });
  after(async () => {
    await service.shutdown();
    keys.remove();
  });

  it("refuses a caller past its burst with RESOURCE_EXHAUSTED and RetryInfo, and serves it again after that delay", async () => {
    const ada = bearer(await signToken(keys, { subject: "ada" }));
    const grace = bearer(await signToken(keys, { subject: "grace" }));
    const get = (who: typeof ada) => users.getUser({ name: "users/00000000-0000-4000-8000-000000000001" }, who);
    await get(ada);
    await get(ada);
    const error = await grpcErrorOf(get(ada));
    assert.equal(error.code, Status.RESOURCE_EXHAUSTED);
    const delay = error.detail("RetryInfo")?.retryDelay;
    assert.ok(delay, "no RetryInfo");
    const delayMs = delay.seconds * 1000 + delay.nanos / 1e6;
    assert.ok(delayMs > 0 && delayMs <= 1000, `retry delay ${delayMs} ms, expected at most 1 s (1 token a second)`);
    assert.equal(error.detail("QuotaFailure")?.violations[0]?.subject, "user:ada");

    // Another caller has a bucket of its own; methods without a rule are not limited.
    await get(grace);
    for (let i = 0; i < 5; i++)
      await users.createUser({ user: { name: "", email: "ada@example.com", displayName: "Ada", etag: "" } });

    // Honouring the delay is enough.
    await sleep(delayMs + 5);
    assert.equal((await get(ada)).user?.name, "users/ada");
  });

  it("does not limit health checks", async () => {
    const health = createClient(HealthService, service.grpcAddress, { defaultTimeoutMs: 5_000 });
    for (let i = 0; i < 10; i++) assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
    health.close();
  });

  it("exposes the limits and the refusals in the service's metrics", async () => {
    const text = await (await fetch(`${service.adminUrl}/metrics`)).text();
    const labels = 'grpc_service="lattice.user.v1.UserService",grpc_method="GetUser"';
    assert.match(text, new RegExp(`lattice_rate_limit_tokens_per_second\\{${labels}\\} 1\\b`));
    assert.match(text, new RegExp(`lattice_rate_limit_burst\\{${labels}\\} 2\\b`));
    const rejected = new RegExp(`lattice_rate_limit_rejected_total\\{${labels}\\} (\\d+)`).exec(text);
    assert.ok(rejected && Number(rejected[1]) >= 1, "no refusal counted");
    assert.match(
      text,
      /grpc_server_handled_total\{[^}]*grpc_method="GetUser"[^}]*grpc_code="ResourceExhausted"\} [1-9]/,
    );
  });
});

describe("rate limits under Linkerd (MESH_IDENTITY)", () => {
  const ORDER = "order.shop.serviceaccount.identity.linkerd.cluster.local";
  const GATEWAY = "gateway.shop.serviceaccount.identity.linkerd.cluster.local";
  const from = (identity: string) => ({ metadata: { "l5d-client-id": identity } });
  const started: TestService[] = [];
  after(async () => {
    for (const service of started) await service.shutdown();
  });
  const limited = async (meshIdentity: string) => {
    const service = await startTestService(userModule(), {
      env: { RATE_LIMITS: "lattice.user.v1.UserService/GetUser=0.01:1", MESH_IDENTITY: meshIdentity },
    });
    started.push(service);
    const users = service.client(UserServiceService, { defaultTimeoutMs: 5_000 });
    /** The QuotaFailure subject of the refusal, or "served". */
    return async (options: { metadata?: Record<string, string> } = {}) => {
      const call = users.getUser({ name: "users/00000000-0000-4000-8000-000000000001" }, options);
      if (
        await call.then(
          () => true,
          () => false,
        )
      )
        return "served";
      const refused = await grpcErrorOf(call);
      assert.equal(refused.code, Status.RESOURCE_EXHAUSTED, refused.message);
      return refused.detail("QuotaFailure")?.violations[0]?.subject;
    };
  };

  it("reads Linkerd's identity form only: the service account, and the whole identity naming its namespace", () => {
    const of = (value?: string) => {
      const metadata = new Metadata();
      if (value !== undefined) metadata.set("l5d-client-id", value);
      return linkerdClientIdentity(metadata);
    };
    assert.deepEqual(of(ORDER), { dnsNames: [ORDER], uris: [], spiffeId: undefined, service: "order" });
    for (const other of [
      undefined,
      "",
      "order",
      "spiffe://cluster.local/ns/shop/sa/order",
      `${ORDER} `,
      "Order.shop.serviceaccount.identity.linkerd.cluster.local",
    ])
      assert.equal(of(other), undefined, String(other));
  });

  it("linkerd: callers without a token get a bucket per workload identity the proxy gives, before the address", async () => {
    const get = await limited("linkerd");
    assert.equal(await get(from(ORDER)), "served");
    assert.equal(await get(from(ORDER)), `workload:${ORDER}`);
    assert.equal(await get(from(GATEWAY)), "served", "another workload has a bucket of its own");
    // No header, or one not of Linkerd's form: the address, shared by everything behind the proxy.
    assert.equal(await get(), "served");
    assert.equal(await get(from("order")), "address:127.0.0.1");
  });

  it("none (the default): the header is not trusted, and every caller behind one address shares its bucket", async () => {
    const get = await limited("none");
    assert.equal(await get(from(ORDER)), "served");
    assert.equal(await get(from(GATEWAY)), "address:127.0.0.1");
  });

  it("refuses linkerd with app TLS, where the proxy cannot remove a forged header", () => {
    assert.throws(
      () =>
        loadConfig(userModule().configSchema, {
          MESH_IDENTITY: "linkerd",
          TLS_MODE: "mtls",
          TLS_CERT_FILE: "/c",
          TLS_KEY_FILE: "/k",
          TLS_CA_FILE: "/ca",
        }),
      (error: unknown) => error instanceof ConfigError && /MESH_IDENTITY: .*TLS_MODE=plaintext/.test(error.message),
    );
    assert.throws(
      () => loadConfig(userModule().configSchema, { MESH_IDENTITY: "istio" }),
      (error: unknown) => error instanceof ConfigError && /MESH_IDENTITY/.test(error.message),
    );
  });
});
