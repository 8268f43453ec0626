import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { DescMessage } from "@bufbuild/protobuf";
// protovalidate's RE2 engine (its dependency, at the version it pins): the judge of the contracts' patterns.
import { RE2JS } from "@bufbuild/re2";
import { compileRules, re2SubsetRegExp, RequestValidator } from "@lattice/kit/internal";
import {
  arbitrary,
  checkOutcome,
  encode,
  hasAbnormalDuration,
  keepingBytes,
  judge,
  mutated,
  pick,
  protovalidate,
  seeded,
  singleFieldVariants,
  testContract,
  testDecoders,
  validExample,
  type GeneratedDecoder,
} from "./support/rule-examples.js";

// The same messages for the same seed; VALIDATION_SEED replays another run.
const SEED = Number(process.env["VALIDATION_SEED"] ?? 0x5eed);

describe("compiled rules against protovalidate (the test contract, every rule they take)", () => {
  const contract = testContract();
  const validator = protovalidate(contract);
  const validatorFor = RequestValidator.forContract(contract);
  const message = (name: string): DescMessage => contract.registry.getMessage(`lattice.kittest.v1.${name}`)!;
  let decoders: ReadonlyMap<string, GeneratedDecoder> = new Map();
  before(async () => {
    decoders = await testDecoders();
  });

  for (const name of ["Rules", "MoreRules"])
    it(`${name}: valid exactly when protovalidate finds no violation; refusals are the full checks' own`, (t) => {
      const schema = message(name);
      const compiled = compileRules(schema);
      assert.ok(compiled, `every rule of ${schema.typeName} compiles`);
      const requestValidator = validatorFor(schema);
      // The object the handler gets: the generated ts-proto decoder's, keeping its bytes as on a server.
      const decode = keepingBytes(decoders.get(schema.typeName)!);
      const rng = seeded(SEED);
      const base = validExample(schema, rng);
      assert.deepEqual(judge(validator, schema, base), [], "a valid example to start from");
      let valid = 0;
      let invalid = 0;
      let fast = 0;
      // Every candidate of every field in a valid message (each rule met on both sides of its bounds), then two fields
      // changed at random, then every field at random.
      const values = [
        ...singleFieldVariants(schema, base, rng),
        ...Array.from({ length: 1000 }, () => mutated(schema, base, rng, 2)),
        ...Array.from({ length: 300 }, () => arbitrary(schema, rng)),
      ];
      for (const [i, value] of values.entries()) {
        const bytes = encode(schema, value);
        const request = decode(bytes);
        const verdict = judge(validator, schema, value);
        const accepted = compiled(request);
        const what = () => `seed ${SEED}, message ${i}: ${JSON.stringify(value)}: protovalidate ${verdict.join(", ")}`;
        if (accepted) assert.deepEqual(verdict, [], `compiled rules accepted what protovalidate refuses; ${what()}`);
        // An abnormal Duration is only ever refused by the compiled rules (then protovalidate decides).
        else if (!hasAbnormalDuration(value)) assert.notDeepEqual(verdict, [], `compiled rules refused; ${what()}`);
        // The whole check as the validation interceptor makes it: the full checks' violations (field paths, rule
        // ids, messages), or none.
        const full = requestValidator.violationsOf(bytes);
        assert.deepEqual(checkOutcome(requestValidator, request), full, `check; ${what()}`);
        if (requestValidator.acceptsFast(request, bytes)) fast++;
        if (verdict.length === 0) valid++;
        else invalid++;
      }
      t.diagnostic(`${values.length} inputs: ${valid} valid (${fast} taken by the fast path), ${invalid} refused`);
      assert.ok(valid > 300 && invalid > 500, `${valid} valid and ${invalid} invalid messages`);
      assert.ok(fast > 0.9 * valid, `${fast} of ${valid} valid messages taken by the fast path`);
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

  it("match exactly what RE2 (protovalidate's engine) matches: random patterns of the subset, random texts", (t) => {
    const rng = seeded(SEED + 2);
    const texts = ["", "\n", "a\nb", "-", "é", "😀", "\r", "\u2028", "A", "0", "9", "_", "a-b"];
    for (let i = 0; i < 300; i++)
      texts.push(
        Array.from({ length: Math.floor(rng() * 7) }, () =>
          pick(rng, ["a", "b", "c", "-", "x", "A", "9", "\n", "é"]),
        ).join(""),
      );
    let patterns = 0;
    let comparisons = 0;
    let matched = 0;
    for (let i = 0; i < 400; i++) {
      const pattern = randomPattern(rng, 0);
      const regexp = re2SubsetRegExp(pattern);
      if (!regexp) continue;
      patterns++;
      const re2 = RE2JS.compile(pattern);
      for (const text of texts) {
        const expected = re2.test(text);
        assert.equal(regexp.test(text), expected, `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`);
        comparisons++;
        if (expected) matched++;
      }
    }
    t.diagnostic(`${patterns} patterns x ${texts.length} texts: ${comparisons} comparisons, ${matched} matches`);
    assert.ok(patterns > 200 && matched > comparisons / 20, `${patterns} patterns, ${matched} matches`);
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

/** A pattern of the subset re2SubsetRegExp takes, mostly (a few it refuses: repeated groups, bad ranges). */
function randomPattern(rng: () => number, depth: number): string {
  let out = rng() < 0.4 ? "^" : "";
  const atoms = 1 + Math.floor(rng() * 4);
  for (let i = 0; i < atoms; i++) {
    const roll = rng();
    if (roll < 0.45) out += pick(rng, ["a", "b", "c", "-", "x", "A", "9", "_"]);
    else if (roll < 0.75) out += pick(rng, ["[a-c]", "[ab-]", "[-x]", "[A-Za-z0-9_]", "[a]", "[0-9a-f]", "[b-c9]"]);
    else if (depth < 2) {
      const alternatives = 1 + Math.floor(rng() * 3);
      const inner = Array.from({ length: alternatives }, () => randomPattern(rng, depth + 1).replace(/^\^|\$$/g, ""));
      out += `(${rng() < 0.5 ? "?:" : ""}${inner.join("|")})`;
    }
    if (rng() < 0.5) out += pick(rng, ["*", "+", "?", "{2}", "{0,1}", "{1,3}", "{2,}", "{0}"]);
  }
  return rng() < 0.4 ? `${out}$` : out;
}
