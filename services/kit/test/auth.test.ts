import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Metadata } from "@grpc/grpc-js";
import {
  authInterceptor,
  baseConfigSchema,
  ContextValues,
  createClient,
  createLogger,
  createTokenVerifier,
  defineService,
  DEFAULT_POLICY,
  GrpcError,
  HealthService,
  loadConfig,
  methodPolicies,
  ServingStatus,
  Status,
  type CallContext,
  type ServiceClient,
} from "@lattice/kit";
import { compose, methodInfo } from "@lattice/kit/internal";
import { grpcErrorOf, startTestService, testDeclaration, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { generateKeyPair } from "jose";
import { AUDIENCE, bearer, ISSUER, jwtEnv, signToken, testKeys, type TestKeys } from "./support/jwt.js";
import { userModule } from "./support/test-user.js";

/** A well-formed user name: the contract's field rules are checked before the fake handler answers. */
const A_USER = "users/00000000-0000-4000-8000-000000000001";

const reasonOf = (error: GrpcError) => error.detail("ErrorInfo")?.reason;

describe("bearer tokens (JWT) on a real server", () => {
  let keys: TestKeys;
  let service: TestService;
  let users: ServiceClient<typeof UserServiceService>;
  before(async () => {
    keys = await testKeys();
    service = await startTestService(userModule(), { env: jwtEnv(keys) });
    users = service.client(UserServiceService, { defaultTimeoutMs: 5_000 });
  });
  after(async () => {
    await service.shutdown();
    keys.remove();
  });
  const getUser = (token?: string) => users.getUser({ name: A_USER }, token === undefined ? {} : bearer(token));

  it("accepts a valid token and hands its principal to the handler", async () => {
    const { user } = await getUser(await signToken(keys, { subject: "ada" }));
    assert.equal(user?.name, "users/ada");
  });

  const refused: [string, () => Promise<string | undefined>, string, RegExp][] = [
    ["no token", async () => undefined, "TOKEN_MISSING", /bearer token is required/],
    ["a malformed token", async () => "not-a-jwt", "TOKEN_MALFORMED", /malformed/],
    [
      "a token signed by another key (same kid)",
      async () => signToken({ privateKey: (await generateKeyPair("ES256")).privateKey, kid: keys.kid }),
      "TOKEN_SIGNATURE",
      /signature is invalid/,
    ],
    ["an expired token", async () => signToken(keys, { expiresIn: -120 }), "TOKEN_EXPIRED", /expired/],
    ["a token not valid yet", async () => signToken(keys, { notBefore: 600 }), "TOKEN_NOT_YET_VALID", /not valid yet/],
    [
      "a token for another audience",
      async () => signToken(keys, { audience: "billing" }),
      "TOKEN_AUDIENCE",
      /not meant for this service/,
    ],
    [
      "a token from another issuer",
      async () => signToken(keys, { issuer: "https://evil.example" }),
      "TOKEN_ISSUER",
      /issuer is not accepted/,
    ],
    [
      "a token signed by an unknown key id",
      async () => signToken(keys, { kid: "other" }),
      "TOKEN_SIGNATURE",
      /unknown key/,
    ],
  ];
  for (const [what, token, reason, message] of refused)
    it(`answers ${what} with UNAUTHENTICATED (${reason})`, async () => {
      const error = await grpcErrorOf(getUser(await token()));
      assert.equal(error.code, Status.UNAUTHENTICATED, error.message);
      assert.equal(reasonOf(error), reason);
      assert.match(error.message, message);
    });

  it("refuses an authorization header that is not a Bearer token", async () => {
    const basic = await grpcErrorOf(users.getUser({ name: A_USER }, { metadata: { authorization: "Basic YTpi" } }));
    assert.equal(basic.code, Status.UNAUTHENTICATED);
    assert.equal(reasonOf(basic), "TOKEN_MALFORMED");
  });

  it("serves a token again from the cache of verified tokens, but never past its expiry", async () => {
    await using strict = await startTestService(userModule(), { env: { ...jwtEnv(keys), JWT_CLOCK_SKEW_S: "0" } });
    const client = strict.client(UserServiceService, { defaultTimeoutMs: 5_000 });
    const shortLived = await signToken(keys, { subject: "brief", expiresIn: 2 });
    for (let i = 0; i < 3; i++)
      assert.equal((await client.getUser({ name: A_USER }, bearer(shortLived))).user?.name, "users/brief");
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const error = await grpcErrorOf(client.getUser({ name: A_USER }, bearer(shortLived)));
    assert.equal(error.code, Status.UNAUTHENTICATED);
    assert.equal(reasonOf(error), "TOKEN_EXPIRED");
  });

  it("tolerates clock skew within JWT_CLOCK_SKEW_S (30 s by default)", async () => {
    const { user } = await getUser(await signToken(keys, { subject: "late", expiresIn: -10 }));
    assert.equal(user?.name, "users/late");
  });

  it("answers a valid token without the method's role with PERMISSION_DENIED, and lets the role through", async () => {
    const plain = await grpcErrorOf(users.listUsers({ pageSize: 1, pageToken: "" }, bearer(await signToken(keys))));
    assert.equal(plain.code, Status.PERMISSION_DENIED);
    assert.equal(reasonOf(plain), "MISSING_ROLE");
    const admin = await signToken(keys, { claims: { roles: ["admin"] } });
    assert.deepEqual(await users.listUsers({ pageSize: 1, pageToken: "" }, bearer(admin)), {
      users: [],
      nextPageToken: "",
    });
  });

  it("lets anonymous methods through without a token, but not with a bad one", async () => {
    const empty = { user: { name: "", email: "a@b.c", displayName: "A", etag: "" } };
    assert.equal((await users.createUser(empty)).user?.name, "users/new");
    const error = await grpcErrorOf(users.createUser(empty, bearer(await signToken(keys, { expiresIn: -120 }))));
    assert.equal(error.code, Status.UNAUTHENTICATED);
  });

  it("exempts health and reflection (method selector): they answer without a token", async () => {
    const health = createClient(HealthService, service.grpcAddress, { defaultTimeoutMs: 5_000 });
    assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
    health.close();
  });

  it("never writes the token in the logs", async () => {
    const token = await signToken(keys, { expiresIn: -120 });
    await grpcErrorOf(getUser(token));
    const text = JSON.stringify(service.logs);
    assert.ok(service.logs.some((line) => line["grpc.code"] === "Unauthenticated"));
    assert.ok(!text.includes(token.split(".")[2]!), "a token signature is in the logs");
  });
});

describe("key sources", () => {
  let keys: TestKeys;
  before(async () => {
    keys = await testKeys("k2");
  });
  after(() => keys.remove());

  it("verifies with a static PEM public key", async () => {
    await using service = await startTestService(userModule(), { env: jwtEnv(keys, "pem") });
    const users = service.client(UserServiceService, { defaultTimeoutMs: 5_000 });
    assert.equal(
      (await users.getUser({ name: A_USER }, bearer(await signToken(keys, { subject: "pem" })))).user?.name,
      "users/pem",
    );
  });

  it("verifies with a JWKS served over HTTP, and answers UNAVAILABLE (not UNAUTHENTICATED) when it cannot be fetched", async () => {
    let up = true;
    const http = createServer((_req, res) => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(keys.jwks));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks.json`;
    try {
      await using service = await startTestService(userModule(), {
        env: { JWT_JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
      });
      const users = service.client(UserServiceService, { defaultTimeoutMs: 5_000 });
      assert.equal(
        (await users.getUser({ name: A_USER }, bearer(await signToken(keys, { subject: "url" })))).user?.name,
        "users/url",
      );

      await using cold = await startTestService(userModule(), {
        env: { JWT_JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
      });
      up = false;
      const error = await grpcErrorOf(
        cold
          .client(UserServiceService, { defaultTimeoutMs: 5_000 })
          .getUser({ name: A_USER }, bearer(await signToken(keys))),
      );
      assert.equal(error.code, Status.UNAVAILABLE, error.message);
    } finally {
      http.close();
    }
  });

  it("refuses to start with a key source but no issuer or audience", async () => {
    await assert.rejects(startTestService(userModule(), { env: { JWT_JWKS_FILE: keys.jwksFile } }), /JWT_ISSUER/);
  });
});

describe("the end user's token travels downstream", () => {
  let keys: TestKeys;
  let user: TestService;
  let front: TestService;
  before(async () => {
    keys = await testKeys();
    user = await startTestService(userModule(), { env: jwtEnv(keys) });
    // A front service whose (anonymous) Greet asks the user service who the caller is.
    const frontModule = defineService({
      declaration: testDeclaration("front", { grpcServices: ["lattice.greeter.v1.GreeterService"], calls: ["user"] }),
      setup({ server, connect }) {
        const users = connect(UserServiceService, "user");
        const plain = createClient(UserServiceService, user.grpcAddress);
        server.addService(GreeterServiceService, {
          greet: async (request) => {
            const client = request.name === "plain" ? plain : users;
            const { user: found } = await client.getUser({ name: A_USER });
            return { message: found?.name ?? "", language: Language.LANGUAGE_UNSPECIFIED };
          },
          listGreetings: () => [],
          recordGreetings: async () => ({ count: 0, distinctCount: 0, message: "" }),
          chatGreetings: () => [],
        });
        return () => plain.close();
      },
    });
    front = await startTestService(frontModule, { env: { ...jwtEnv(keys), USER_SERVICE_ADDRESS: user.grpcAddress } });
  });
  after(async () => {
    await front.shutdown();
    await user.shutdown();
    keys.remove();
  });

  it("connect() clients pass the verified token on, and the next service verifies it again", async () => {
    const greeter = front.client(GreeterServiceService, { defaultTimeoutMs: 5_000 });
    const token = await signToken(keys, { subject: "grace" });
    assert.equal(
      (await greeter.greet({ name: "x", language: Language.LANGUAGE_UNSPECIFIED }, bearer(token))).message,
      "users/grace",
    );
  });

  it("nothing is passed on without a verified token, so the downstream call is refused", async () => {
    const greeter = front.client(GreeterServiceService, { defaultTimeoutMs: 5_000 });
    const error = await grpcErrorOf(greeter.greet({ name: "x", language: Language.LANGUAGE_UNSPECIFIED }));
    assert.equal(error.code, Status.UNAUTHENTICATED);
  });

  it("clients not made by connect() do not pass it on", async () => {
    const greeter = front.client(GreeterServiceService, { defaultTimeoutMs: 5_000 });
    const token = await signToken(keys, { subject: "grace" });
    const error = await grpcErrorOf(
      greeter.greet({ name: "plain", language: Language.LANGUAGE_UNSPECIFIED }, bearer(token)),
    );
    assert.equal(error.code, Status.UNAUTHENTICATED);
  });
});

describe("method policies", () => {
  it("are read from the contracts' descriptor set", () => {
    const policies = methodPolicies();
    assert.deepEqual(policies.get("/lattice.payment.v1.PaymentService/Charge")?.callers, ["order"]);
    assert.deepEqual(policies.get("/lattice.user.v1.UserService/ListUsers")?.roles, ["admin"]);
    assert.equal(policies.get("/lattice.user.v1.UserService/CreateUser")?.allowAnonymous, true);
    assert.equal(policies.get("/lattice.greeter.v1.GreeterService/ChatGreetings")?.allowAnonymous, true);
    assert.equal(policies.has("/lattice.user.v1.UserService/GetUser"), false, "GetUser declares none");
  });

  it("require every scope a method names", async () => {
    const keys = await testKeys();
    try {
      const method = methodInfo("/lattice.user.v1.UserService/GetUser", false, false);
      const policy = { ...DEFAULT_POLICY, scopes: ["users.read", "users.list"] };
      const verifier = createTokenVerifier(loadConfig(baseConfigSchema, jwtEnv(keys)))!;
      const run = compose(
        [authInterceptor({ verifier, policies: new Map([[method.path, policy]]), enforceCallers: false })],
        method,
        async () => "reached",
      );
      const call = async (scope: string) => {
        const header = new Metadata();
        header.set("authorization", `Bearer ${await signToken(keys, { claims: { scope } })}`);
        return run({}, { requestHeader: header, values: new ContextValues() } as unknown as CallContext);
      };
      assert.equal(await call("users.read users.list profile"), "reached");
      const error = await call("users.read").catch((failure: unknown) => failure);
      assert.ok(error instanceof GrpcError && error.code === Status.PERMISSION_DENIED, String(error));
      assert.equal(reasonOf(error), "MISSING_SCOPE");
    } finally {
      keys.remove();
    }
  });

  it("need a peer identity to enforce callers: TLS_MODE=mtls", () => {
    assert.throws(
      () => loadConfig(userModule().configSchema, { TLS_MODE: "mtls", TLS_CERT_FILE: "/x.crt" }),
      /TLS_KEY_FILE: required when TLS_MODE is mtls.*TLS_CA_FILE: required when TLS_MODE is mtls/,
    );
    assert.throws(
      () =>
        loadConfig(userModule().configSchema, {
          JWT_JWKS_FILE: "/a.json",
          JWT_PUBLIC_KEY_FILE: "/b.pem",
          JWT_ISSUER: ISSUER,
          JWT_AUDIENCE: AUDIENCE,
        }),
      /JWT_PUBLIC_KEY_FILE: set only one of/,
    );
  });
});

describe("logs", () => {
  it("redact credentials wherever a line carries them, up to three levels deep", () => {
    const lines: string[] = [];
    const logger = createLogger({ service: "t", format: "json", destination: { write: (line) => lines.push(line) } });
    logger.info(
      {
        authorization: "Bearer top-level",
        metadata: { authorization: "Bearer nested", "set-cookie": "id=1", "x-request-id": "kept" },
        request: { headers: { authorization: "Bearer deeper" }, password: "hunter2" },
      },
      "call",
    );
    const text = lines.join("");
    for (const secret of ["top-level", "nested", "id=1", "deeper", "hunter2"])
      assert.ok(!text.includes(secret), secret);
    const line = JSON.parse(text) as { metadata: Record<string, string> };
    assert.equal(line.metadata.authorization, "[REDACTED]");
    assert.equal(line.metadata["x-request-id"], "kept");
  });
});
