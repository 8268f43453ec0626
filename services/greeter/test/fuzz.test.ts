import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fuzz, fuzzSeed, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "../src/module.js";

const INPUTS = Number(process.env["FUZZ_INPUTS"] ?? 300);

describe("greeter under fuzzed requests", () => {
  it("answers every input with a client's code, never INTERNAL, and keeps serving", async (t) => {
    const seed = fuzzSeed();
    t.diagnostic(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    await using service = await startTestService(greeterModule);
    const greet = (name: string) => GreetRequest.encode({ name, language: Language.LANGUAGE_FRENCH }).finish();
    const report = await fuzz({
      address: service.grpcAddress,
      services: ["lattice.greeter.v1.GreeterService", "grpc.health.v1.Health"],
      seed,
      maxInputs: INPUTS,
      timeBudgetMs: 30_000,
      seeds: { "/lattice.greeter.v1.GreeterService/Greet": [greet("Ada"), greet("Grace Hopper")] },
    });
    t.diagnostic(`fuzz: ${report.inputs} inputs, codes ${JSON.stringify(report.codes)}`);
    assert.deepEqual(report.failures, [], `seed ${seed}`);
    assert.ok(report.inputs >= Math.min(INPUTS, 50), `only ${report.inputs} inputs ran`);
    const greeter = service.client(GreeterServiceService, { defaultTimeoutMs: 5000 });
    assert.equal((await greeter.greet({ name: "Ada", language: Language.LANGUAGE_FRENCH })).message, "Bonjour, Ada !");
  });
});
