import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient, type LoadBalancingPolicy } from "@lattice/kit";
import { startTestService, type TestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "./support/test-greeter.js";

/** Calls each server answered, from its own log of finished calls. */
function greetsServed(service: TestService): number {
  return service.logs.filter((line) => line.msg === "finished call" && line["grpc.method"] === "Greet").length;
}

async function spread(policy: LoadBalancingPolicy): Promise<number[]> {
  await using first = await startTestService(greeterModule());
  await using second = await startTestService(greeterModule());
  // One target that resolves to both servers, as a headless Service's DNS name resolves to every pod.
  const client = createClient(GreeterServiceService, `ipv4:${first.grpcAddress},${second.grpcAddress}`, {
    loadBalancing: policy,
  });
  try {
    for (let i = 0; i < 20; i++) await client.greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH });
  } finally {
    client.close();
  }
  return [greetsServed(first), greetsServed(second)];
}

describe("client load balancing", () => {
  it("round_robin spreads calls over every address of the target", async () => {
    // Both connections carry calls (the first may go out before the second connection is ready).
    const served = await spread("round_robin");
    assert.equal(served[0]! + served[1]!, 20);
    assert.ok(Math.min(...served) >= 5, `calls split ${served.join(" and ")}`);
  });

  it("pick_first keeps every call on one connection (a mesh proxy balances them instead)", async () => {
    const served = await spread("pick_first");
    assert.equal(served[0]! + served[1]!, 20);
    assert.ok(served.includes(0), `one server takes every call, got ${served.join(" and ")}`);
  });
});
