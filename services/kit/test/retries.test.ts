import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import {
  contractRegistry,
  createClient,
  DEFAULT_RETRY_SETTINGS,
  defineService,
  GrpcError,
  retryabilityOf,
  serviceConfigFor,
  Status,
  type AnyServiceDefinition,
  type RetrySettings,
  type ServiceImplementation,
} from "@lattice/kit";
import { methodInfo } from "@lattice/kit/internal";
import { grpcErrorOf, startTestService, testDeclaration } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { PaymentServiceService, PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { ADA, greeterModule } from "./support/test-greeter.js";

const info = (definition: Record<string, { path: string; requestStream: boolean; responseStream: boolean }>) =>
  Object.values(definition).map((d) => methodInfo(d.path, d.requestStream, d.responseStream));
const retry: RetrySettings = { ...DEFAULT_RETRY_SETTINGS, maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 };

describe("which methods are retried", () => {
  it("follows the contract: idempotency levels, and requests carrying an idempotency key", () => {
    const registry = contractRegistry();
    const of = (definition: Parameters<typeof info>[0]) =>
      Object.fromEntries(info(definition).map((m) => [m.name, retryabilityOf(registry, m)]));
    assert.deepEqual(of(UserServiceService), {
      CreateUser: "unsafe",
      GetUser: "no-side-effects",
      ListUsers: "no-side-effects",
      UpdateUser: "unsafe",
      DeleteUser: "idempotent",
    });
    assert.deepEqual(of(PaymentServiceService), {
      Charge: "idempotency-key",
      GetPayment: "no-side-effects",
      Refund: "idempotent",
    });
  });

  it("becomes a gRFC A6 service config: a retry policy for safe methods, hedging for reads when asked, throttling", () => {
    const registry = contractRegistry();
    const config = serviceConfigFor(info(UserServiceService), registry, retry, "round_robin");
    assert.deepEqual(config, {
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [
        {
          name: ["GetUser", "ListUsers", "DeleteUser"].map((method) => ({
            service: "lattice.user.v1.UserService",
            method,
          })),
          retryPolicy: {
            maxAttempts: 4,
            initialBackoff: "0.01s",
            maxBackoff: "0.05s",
            backoffMultiplier: 2,
            retryableStatusCodes: ["UNAVAILABLE"],
          },
        },
      ],
      retryThrottling: { maxTokens: 100, tokenRatio: 0.1 },
    });
    const hedged = serviceConfigFor(info(UserServiceService), registry, { ...retry, hedgingDelayMs: 30 });
    const policies = (hedged["methodConfig"] as Record<string, unknown>[]).map((c) => Object.keys(c)[1]);
    assert.deepEqual(policies, ["retryPolicy", "hedgingPolicy"]);
    assert.throws(() => serviceConfigFor([], registry, { ...retry, maxAttempts: 6 }), /at most 5 attempts/);
    assert.deepEqual(serviceConfigFor(info(UserServiceService), registry, { ...retry, maxAttempts: 1 }), {});
  });
});

/** A greeter whose Greet fails with `code` the first `failures` times, counting every attempt it sees. */
async function flakyGreeter(failures: number, code = Status.UNAVAILABLE) {
  const seen = { attempts: 0 };
  const service = await startTestService(
    greeterModule({
      greet: (request) => {
        seen.attempts++;
        if (seen.attempts <= failures) throw new GrpcError(code, `failure ${seen.attempts}`);
        return { message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED };
      },
    }),
  );
  return { service, seen };
}

describe("retries through the service config", () => {
  it("send a safe method again on UNAVAILABLE, up to the attempts allowed", async () => {
    const { service, seen } = await flakyGreeter(2);
    await using _ = service;
    const client = createClient(GreeterServiceService, service.grpcAddress, { retry });
    try {
      assert.equal((await client.greet(ADA)).message, "hi Ada");
      assert.equal(seen.attempts, 3);
      seen.attempts = -10; // ten failures now: more than four attempts can absorb
      assert.equal((await grpcErrorOf(client.greet(ADA))).code, Status.UNAVAILABLE);
      assert.equal(seen.attempts, -6, "four attempts, then the last failure is the answer");
    } finally {
      client.close();
    }
  });

  it("do not repeat other codes, and not at all without retry settings", async () => {
    const { service, seen } = await flakyGreeter(1, Status.INVALID_ARGUMENT);
    await using _ = service;
    const client = createClient(GreeterServiceService, service.grpcAddress, { retry });
    const plain = createClient(GreeterServiceService, service.grpcAddress);
    try {
      assert.equal((await grpcErrorOf(client.greet(ADA))).code, Status.INVALID_ARGUMENT);
      assert.equal(seen.attempts, 1);
      seen.attempts = -1;
      assert.equal((await grpcErrorOf(plain.greet(ADA))).code, Status.INVALID_ARGUMENT);
      assert.equal(seen.attempts, 0);
    } finally {
      client.close();
      plain.close();
    }
  });

  it("never repeat an unsafe method, and repeat one whose request carries an idempotency key", async () => {
    const attempts = { createUser: 0, charge: 0 };
    const unavailable = () => new GrpcError(Status.UNAVAILABLE, "try later");
    const users: Partial<ServiceImplementation<typeof UserServiceService>> = {
      createUser: () => {
        attempts.createUser++;
        throw unavailable();
      },
    };
    const payments: Partial<ServiceImplementation<typeof PaymentServiceService>> = {
      charge: (request) => {
        attempts.charge++;
        if (attempts.charge < 3) throw unavailable();
        return { payment: { ...PAYMENT, idempotencyKey: request.idempotencyKey } };
      },
    };
    const module = defineService({
      declaration: testDeclaration("two-contracts", {
        grpcServices: ["lattice.user.v1.UserService", "lattice.payment.v1.PaymentService"],
      }),
      setup({ server }) {
        server.addService(UserServiceService, completed(UserServiceService, users));
        server.addService(PaymentServiceService, completed(PaymentServiceService, payments));
      },
    });
    await using service = await startTestService(module);
    const userClient = createClient(UserServiceService, service.grpcAddress, { retry });
    const paymentClient = createClient(PaymentServiceService, service.grpcAddress, { retry });
    try {
      const user = { name: "", email: "ada@example.com", displayName: "Ada", etag: "" };
      assert.equal((await grpcErrorOf(userClient.createUser({ user }))).code, Status.UNAVAILABLE);
      assert.equal(attempts.createUser, 1, "CreateUser has no idempotency: sent once");
      const charge = { order: "orders/o-1", amount: { currencyCode: "EUR", amountMinor: 100 }, idempotencyKey: "k" };
      assert.equal((await paymentClient.charge(charge)).payment?.idempotencyKey, "k");
      assert.equal(attempts.charge, 3);
    } finally {
      userClient.close();
      paymentClient.close();
    }
  });

  it("hedge reads when asked: a slow first attempt is overtaken by a second one", async () => {
    let calls = 0;
    await using service = await startTestService(
      greeterModule({
        async greet(request, ctx) {
          calls++;
          if (calls === 1) await sleep(2000, undefined, { signal: ctx.signal }).catch(() => undefined);
          return { message: `hi ${request.name} (${calls})`, language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
    );
    const client = createClient(GreeterServiceService, service.grpcAddress, {
      retry: { ...retry, maxAttempts: 2, hedgingDelayMs: 50 },
    });
    try {
      const started = Date.now();
      const answer = await client.greet(ADA, { timeoutMs: 5000 });
      assert.ok(Date.now() - started < 1500, "answered by the hedged attempt");
      assert.equal(answer.message, "hi Ada (2)");
    } finally {
      client.close();
    }
  });

  it("are throttled when most calls fail, so a failing dependency is not hammered", async () => {
    const { service, seen } = await flakyGreeter(1_000_000);
    await using _ = service;
    const client = createClient(GreeterServiceService, service.grpcAddress, { retry });
    try {
      for (let i = 0; i < 100; i++) await grpcErrorOf(client.greet(ADA));
      // Without throttling 100 calls × 4 attempts = 400. With 100 tokens, a failed attempt costs 1 and retries stop
      // at 50: about 50 attempts with retries, then one per call.
      assert.ok(seen.attempts < 160, `${seen.attempts} attempts for 100 calls`);
      assert.ok(seen.attempts >= 100);
    } finally {
      client.close();
    }
  });

  it("with the defaults, absorb many calls failing at once, as when a replica dies with calls in flight", async () => {
    const callers = 16;
    const { service, seen } = await flakyGreeter(callers);
    await using _ = service;
    const client = createClient(GreeterServiceService, service.grpcAddress, { retry: DEFAULT_RETRY_SETTINGS });
    try {
      // The first attempt of every caller fails at once; A6's example bucket of 10 tokens retried only 4 of them.
      const answers = await Promise.allSettled(Array.from({ length: callers }, () => client.greet(ADA)));
      const failed = answers.filter((answer) => answer.status === "rejected");
      assert.deepEqual(failed, [], `${failed.length} of ${callers} calls failed`);
      assert.ok(seen.attempts >= 2 * callers);
    } finally {
      client.close();
    }
  });
});

/** `partial` with every other method answering UNIMPLEMENTED. */
function completed<D extends AnyServiceDefinition>(
  definition: D,
  partial: Partial<ServiceImplementation<D>>,
): ServiceImplementation<D> {
  const unimplemented = () => {
    throw new GrpcError(Status.UNIMPLEMENTED, "not in this test");
  };
  return Object.fromEntries(
    Object.keys(definition).map((key) => [key, partial[key as keyof D] ?? unimplemented]),
  ) as ServiceImplementation<D>;
}

const PAYMENT = {
  name: "payments/00000000-0000-4000-8000-000000000001",
  order: "orders/o-1",
  amount: { currencyCode: "EUR", amountMinor: 100 },
  state: PaymentState.PAYMENT_STATE_SUCCEEDED,
  idempotencyKey: "",
  declineReason: "",
  createTime: new Date(0),
  updateTime: new Date(0),
};
