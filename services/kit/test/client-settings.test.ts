import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient, defineService, declaredConfigSchema, loadConfig, type CallContext } from "@lattice/kit";
import { clientSettingsFor } from "@lattice/kit/internal";
import { collect, startTestService, testDeclaration } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule, plainGreeter } from "./support/test-greeter.js";

const caller = testDeclaration("caller", {
  grpcServices: ["lattice.greeter.v1.GreeterService"],
  calls: ["payment", "user"],
});

describe("client settings", () => {
  it("default for every target, with per-target overrides, validated at start", () => {
    const schema = declaredConfigSchema(caller, {});
    const base = { PAYMENT_SERVICE_ADDRESS: "payment:50051", USER_SERVICE_ADDRESS: "user:50051" };
    const config = loadConfig(schema, {
      ...base,
      CLIENT_RETRY_MAX_ATTEMPTS: "2",
      PAYMENT_CLIENT_RETRY_MAX_ATTEMPTS: "4",
      PAYMENT_CLIENT_TIMEOUT_MS: "2500",
      USER_CLIENT_BREAKER: "off",
      CLIENT_HEDGING_DELAY_MS: "40",
      USER_CLIENT_RETRY_THROTTLING_MAX_TOKENS: "400",
      PAYMENT_CLIENT_DNS_MIN_RESOLUTION_INTERVAL_MS: "5000",
    }) as Record<string, unknown>;
    const payment = clientSettingsFor(config, "payment");
    const user = clientSettingsFor(config, "user");
    assert.equal(payment.retry.maxAttempts, 4);
    assert.equal(user.retry.maxAttempts, 2);
    assert.equal(payment.timeoutMs, 2500);
    assert.equal(user.timeoutMs, 10_000);
    assert.equal(user.streamTimeoutMs, 3_600_000);
    assert.equal(payment.retry.hedgingDelayMs, 40);
    assert.equal(user.breaker, undefined);
    assert.equal(payment.breaker?.volumeThreshold, 10);
    assert.deepEqual(user.retry.throttling, { maxTokens: 400, tokenRatio: 0.1 });
    assert.equal(payment.retry.throttling.maxTokens, 100);
    assert.equal(payment.dnsMinResolutionIntervalMs, 5000);
    assert.equal(user.dnsMinResolutionIntervalMs, 1000);
    assert.throws(
      () => loadConfig(schema, { ...base, PAYMENT_CLIENT_RETRY_MAX_ATTEMPTS: "6" }),
      /PAYMENT_CLIENT_RETRY_MAX_ATTEMPTS/,
    );
    assert.throws(() => loadConfig(schema, { ...base, CLIENT_BREAKER: "maybe" }), /CLIENT_BREAKER/);
    assert.throws(
      () => loadConfig(schema, { ...base, CLIENT_RETRY_THROTTLING_MAX_TOKENS: "1001" }),
      /CLIENT_RETRY_THROTTLING_MAX_TOKENS/,
    );
  });
});

describe("every outgoing call has a deadline", () => {
  it("its own, the one it inherits, or the per-kind default of its client", async () => {
    const seen: (number | undefined)[] = [];
    const remaining = (ctx: CallContext) => seen.push(ctx.deadline && ctx.deadline.getTime() - Date.now());
    await using service = await startTestService(
      greeterModule({
        greet: (_request, ctx) => {
          remaining(ctx);
          return { message: "hi", language: Language.LANGUAGE_UNSPECIFIED };
        },
        async *listGreetings(_request, ctx) {
          remaining(ctx);
          yield { message: "m", language: Language.LANGUAGE_UNSPECIFIED, sequence: 1 };
        },
      }),
    );
    const client = createClient(GreeterServiceService, service.grpcAddress, {
      defaultTimeoutMs: 2000,
      streamTimeoutMs: 60_000,
    });
    try {
      await client.greet(ADA);
      await client.greet(ADA, { timeoutMs: 500 });
      await collect(client.listGreetings({ name: "Ada", count: 1 }));
      const [unary = 0, own = 0, stream = 0] = seen;
      assert.ok(unary > 1500 && unary <= 2000, `unary default ${unary}`);
      assert.ok(own > 200 && own <= 500, `own ${own}`);
      assert.ok(stream > 55_000 && stream <= 60_000, `stream default ${stream}`);
    } finally {
      client.close();
    }
  });

  it("for the clients a module connects, from the configuration", async () => {
    const seen: (number | undefined)[] = [];
    await using target = await startTestService(
      greeterModule({
        greet: (_request, ctx) => {
          seen.push(ctx.deadline && ctx.deadline.getTime() - Date.now());
          return { message: "hi", language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
    );
    const module = defineService({
      declaration: testDeclaration("caller", {
        grpcServices: ["lattice.greeter.v1.GreeterService"],
        calls: ["greeter"],
      }),
      setup({ server, connect }) {
        const greeter = connect(GreeterServiceService, "greeter");
        server.addService(GreeterServiceService, { ...plainGreeter, greet: (request) => greeter.greet(request) });
      },
    });
    await using service = await startTestService(module, {
      env: { GREETER_SERVICE_ADDRESS: target.grpcAddress, GREETER_CLIENT_TIMEOUT_MS: "1234" },
    });
    await service.client(GreeterServiceService).greet(ADA);
    assert.ok(seen[0]! > 900 && seen[0]! <= 1234, `configured default ${seen[0]}`);
    const metrics = await (await fetch(`${service.adminUrl}/metrics`)).text();
    assert.match(
      metrics,
      /grpc_client_circuit_breaker_state\{target="greeter",grpc_service="lattice.greeter.v1.GreeterService",grpc_method="Greet"\} 0/,
    );
  });
});
