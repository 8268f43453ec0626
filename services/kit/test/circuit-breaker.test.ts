import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  createClient,
  createLogger,
  DEFAULT_BREAKER_SETTINGS,
  GrpcError,
  Status,
  type BreakerSettings,
  type ServiceClient,
} from "@lattice/kit";
import { ClientMetrics } from "@lattice/kit/internal";
import { eventually, grpcErrorOf, startTestService, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

const settings: BreakerSettings = {
  ...DEFAULT_BREAKER_SETTINGS,
  volumeThreshold: 10,
  errorThresholdPercent: 50,
  resetTimeoutMs: 300,
};

/**
 * A greeter whose Greet answers with the code `answer()` says (OK when undefined), counting the calls that reach it,
 * and a client with circuit breakers in front of it.
 */
async function dependency(answer: () => Status | undefined) {
  const reached = { calls: 0 };
  const service = await startTestService(
    greeterModule({
      greet: () => {
        reached.calls++;
        const code = answer();
        if (code !== undefined) throw new GrpcError(code, `answered ${Status[code]}`);
        return { message: "hi", language: Language.LANGUAGE_UNSPECIFIED };
      },
    }),
  );
  const registry = new Registry();
  const logs: { level: number; msg: string }[] = [];
  const logger = createLogger({
    service: "caller",
    level: "debug",
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) },
  });
  const client = createClient(GreeterServiceService, service.grpcAddress, {
    name: "greeter",
    breaker: settings,
    metrics: ClientMetrics.of(registry),
    logger,
  });
  return { service, client, reached, registry, logs, [Symbol.asyncDispose]: () => closeAll(client, service) };
}

async function closeAll(client: ServiceClient<typeof GreeterServiceService>, service: TestService) {
  client.close();
  await service.shutdown();
}

const codeOf = async (call: Promise<unknown>) => {
  try {
    await call;
    return Status.OK;
  } catch (error) {
    return error instanceof GrpcError ? error.code : -1;
  }
};

describe("circuit breakers", () => {
  it("open once failures pass the threshold over the minimum volume, then refuse at once naming the dependency", async () => {
    await using d = await dependency(() => Status.UNAVAILABLE);
    for (let i = 0; i < 9; i++) assert.equal(await codeOf(d.client.greet(ADA)), Status.UNAVAILABLE);
    assert.equal(d.reached.calls, 9, "below the minimum volume nothing is refused");
    await codeOf(d.client.greet(ADA)); // the tenth failure opens it
    const refused = await grpcErrorOf(d.client.greet(ADA));
    assert.equal(d.reached.calls, 10, "refused calls are not sent");
    assert.equal(refused.code, Status.UNAVAILABLE);
    assert.match(
      refused.message,
      /^greeter is failing: circuit breaker open for \/lattice\.greeter\.v1\.GreeterService\/Greet/,
    );
    const delay = refused.detail("RetryInfo")?.retryDelay;
    assert.ok(delay && delay.seconds * 1000 + delay.nanos / 1e6 <= 300, "RetryInfo says when a probe is let through");

    const metrics = await d.registry.metrics();
    const labels = 'target="greeter",grpc_service="lattice.greeter.v1.GreeterService",grpc_method="Greet"';
    assert.match(metrics, new RegExp(`grpc_client_circuit_breaker_state\\{${labels}\\} 2`));
    assert.match(metrics, new RegExp(`grpc_client_circuit_breaker_transitions_total\\{${labels},state="open"\\} 1`));
    assert.match(metrics, new RegExp(`grpc_client_circuit_breaker_rejections_total\\{${labels}\\} 1`));

    for (let i = 0; i < 20; i++) await codeOf(d.client.greet(ADA));
    const changes = d.logs.filter((line) => line.msg.startsWith("circuit "));
    assert.deepEqual(
      changes.map((line) => [line.level, line.msg]),
      [[40, "circuit open: refusing calls to greeter"]],
      "the state change is logged once, not per refused call",
    );
  });

  it("half-open after the reset timeout: one probe goes through, and its success closes the breaker", async () => {
    let failing = true;
    await using d = await dependency(() => (failing ? Status.DEADLINE_EXCEEDED : undefined));
    for (let i = 0; i < 10; i++) await codeOf(d.client.greet(ADA));
    assert.equal((await grpcErrorOf(d.client.greet(ADA))).message.includes("circuit breaker open"), true);
    failing = false;
    await eventually(async () => assert.equal(await codeOf(d.client.greet(ADA)), Status.OK), { withinMs: 3000 });
    for (let i = 0; i < 5; i++) assert.equal(await codeOf(d.client.greet(ADA)), Status.OK, "closed again");
    const metrics = await d.registry.metrics();
    for (const state of ["open", "half_open", "closed"])
      assert.match(metrics, new RegExp(`grpc_client_circuit_breaker_transitions_total\\{[^}]*state="${state}"\\} 1`));
  });

  it("a failing probe opens it again for another reset timeout", async () => {
    await using d = await dependency(() => Status.UNAVAILABLE);
    for (let i = 0; i < 10; i++) await codeOf(d.client.greet(ADA));
    const before = d.reached.calls;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await codeOf(d.client.greet(ADA)), Status.UNAVAILABLE, "the probe is sent and fails");
    assert.equal(d.reached.calls, before + 1);
    const refused = await grpcErrorOf(d.client.greet(ADA));
    assert.match(refused.message, /circuit breaker open/);
    assert.equal(d.reached.calls, before + 1);
  });

  it("are not opened by client mistakes, however many", async () => {
    await using d = await dependency(() => Status.INVALID_ARGUMENT);
    for (let i = 0; i < 50; i++) assert.equal(await codeOf(d.client.greet(ADA)), Status.INVALID_ARGUMENT);
    assert.equal(d.reached.calls, 50);
  });

  it("are not held closed by client mistakes: they do not dilute the failures", async () => {
    // 12 UNAVAILABLE among 100 NOT_FOUND: 12 % of all calls, 100 % of those that say anything about the dependency.
    let n = 0;
    await using d = await dependency(() => (++n % 9 === 0 ? Status.UNAVAILABLE : Status.NOT_FOUND));
    let refused = 0;
    for (let i = 0; i < 112; i++)
      if ((await grpcErrorOf(d.client.greet(ADA))).message.includes("circuit breaker open")) refused++;
    assert.ok(refused > 0, "opened on the dependency failures alone");
  });

  it("count the outcome of a call after its retries, once per call", async () => {
    let n = 0;
    await using d = await dependency(() => (++n % 2 === 1 ? Status.UNAVAILABLE : undefined));
    const client = createClient(GreeterServiceService, d.service.grpcAddress, {
      name: "greeter",
      breaker: settings,
      retry: {
        maxAttempts: 2,
        initialBackoffMs: 1,
        maxBackoffMs: 5,
        retryableCodes: [Status.UNAVAILABLE],
        throttling: { maxTokens: 100, tokenRatio: 1 },
      },
    });
    try {
      // Every first attempt fails and every retry succeeds: the breaker sees only successes and never opens.
      for (let i = 0; i < 30; i++) assert.equal(await codeOf(client.greet(ADA)), Status.OK);
      assert.equal(d.reached.calls, 60);
    } finally {
      client.close();
    }
  });
});
