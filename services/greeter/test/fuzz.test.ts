import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertServing, fuzz, fuzzBudget, fuzzSeed, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "../src/module.js";

const GREETER = "lattice.greeter.v1.GreeterService";

describe("greeter under fuzzed requests", () => {
  it("answers every input with a client's code, never INTERNAL, and keeps serving", async (t) => {
    const seed = fuzzSeed();
    const budget = fuzzBudget({ inputs: 300, timeMs: 30_000 });
    t.diagnostic(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    await using service = await startTestService(greeterModule);
    const greet = (name: string) => GreetRequest.encode({ name, language: Language.LANGUAGE_FRENCH }).finish();
    const report = await fuzz({
      address: service.grpcAddress,
      services: [GREETER, "grpc.health.v1.Health"],
      seed,
      ...budget,
      seeds: { [`/${GREETER}/Greet`]: [greet("Ada"), greet("Grace Hopper")] },
    });
    t.diagnostic(`greeter: ${report.inputs} inputs, codes ${JSON.stringify(report.codes)}`);
    t.diagnostic(`per method ${JSON.stringify(report.perMethod)}`);
    assert.deepEqual(report.failures, [], `seed ${seed}`);
    assert.ok(report.inputs >= Math.min(budget.maxInputs, 50), `only ${report.inputs} inputs ran`);
    const greeter = service.client(GreeterServiceService, { defaultTimeoutMs: 5000 });
    assert.equal((await greeter.greet({ name: "Ada", language: Language.LANGUAGE_FRENCH })).message, "Bonjour, Ada !");
    await assertServing(service, [GREETER]);
  });
});
