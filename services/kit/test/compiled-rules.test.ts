import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DescMessage } from "@bufbuild/protobuf";
import { compileRules, re2SubsetRegExp } from "@lattice/kit/internal";
import {
  arbitrary,
  hasAbnormalDuration,
  judge,
  mutated,
  protovalidate,
  seeded,
  singleFieldVariants,
  testContract,
  toTsProto,
  validExample,
} from "./support/rule-examples.js";

// The same messages for the same seed; VALIDATION_SEED replays another run.
const SEED = Number(process.env["VALIDATION_SEED"] ?? 0x5eed);

describe("compiled rules against protovalidate (the test contract, every rule they take)", () => {
  const contract = testContract();
  const validator = protovalidate(contract);
  const message = (name: string): DescMessage => contract.registry.getMessage(`lattice.kittest.v1.${name}`)!;

  it("answer valid exactly when protovalidate finds no violation", () => {
    const schema = message("Rules");
    const compiled = compileRules(schema);
    assert.ok(compiled, "every rule of lattice.kittest.v1.Rules compiles");
    const rng = seeded(SEED);
    const base = validExample(schema, rng);
    assert.deepEqual(judge(validator, schema, base), [], "a valid example to start from");
    let valid = 0;
    let invalid = 0;
    // Every candidate of every field in a valid message (each rule met on both sides of its bounds), then two fields
    // changed at random, then every field at random.
    const values = [
      ...singleFieldVariants(schema, base, rng),
      ...Array.from({ length: 1000 }, () => mutated(schema, base, rng, 2)),
      ...Array.from({ length: 200 }, () => arbitrary(schema, rng)),
    ];
    for (const [i, value] of values.entries()) {
      const verdict = judge(validator, schema, value);
      const fast = compiled(toTsProto(schema, value));
      const what = () => `seed ${SEED}, message ${i}: ${JSON.stringify(value)}: protovalidate ${verdict.join(", ")}`;
      if (fast) assert.deepEqual(verdict, [], `compiled rules accepted what protovalidate refuses; ${what()}`);
      // An abnormal Duration is only ever refused by the compiled rules (then protovalidate decides).
      else if (!hasAbnormalDuration(value)) assert.notDeepEqual(verdict, [], `compiled rules refused; ${what()}`);
      if (verdict.length === 0) valid++;
      else invalid++;
    }
    assert.ok(valid > 500 && invalid > 500, `${valid} valid and ${invalid} invalid messages`);
  });

  it("give up on a request type with a rule they do not take, which protovalidate then judges alone", () => {
    for (const name of [
      "BytesRule",
      "OtherCel",
      "WithOneof",
      "Hostname",
      "DotPattern",
      "MessageCel",
      "MapRule",
      "IgnoreRule",
      "FloatUnique",
      "NestedUnsupported",
    ])
      assert.equal(compileRules(message(name)), undefined, name);
  });

  it("refuse what is not the object the generated decoder makes", () => {
    const compiled = compileRules(message("Inner"))!;
    assert.equal(compiled({ name: "abc", n: 4 }), true);
    for (const other of [undefined, null, "x", {}, { name: 1, n: 4 }, { name: "abc" }, { n: 4 }])
      assert.equal(compiled(other), false, JSON.stringify(other));
  });
});

describe("RE2 patterns run as JavaScript RegExps", () => {
  it("takes the constructs that mean the same in both", () => {
    for (const pattern of [
      "^[A-Z]{3}$",
      "^[A-Za-z0-9_.-]{1,64}$",
      "^users/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
      "^(?:ab|cd)+x?$",
      "^a(b|c)*$",
      "[-a]",
      "[a-]",
      "",
      "a{2,}",
    ])
      assert.ok(re2SubsetRegExp(pattern), pattern);
  });

  it("leaves everything else to RE2", () => {
    for (const pattern of [
      "^a.b$", // `.`: RE2 matches \r, U+2028 and U+2029, JavaScript does not
      "\\d+",
      "[^a]",
      "a*?",
      "(a){2}",
      "[a-z-0]",
      "a{1001}",
      "a{3,2}",
      "a**",
      "(?i)a",
      "[[:alpha:]]",
      "[]a]",
      "(a",
      "a)",
      "{",
      "é",
    ])
      assert.equal(re2SubsetRegExp(pattern), undefined, pattern);
  });
});
