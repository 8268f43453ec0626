import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { MethodDefinition } from "@grpc/grpc-js";
import { Contract } from "@lattice/kit";
import {
  checkWire,
  DEFAULT_MAX_ITEMS,
  isWireClean,
  keepRequestBytes,
  RequestValidator,
  UndecodableRequest,
} from "@lattice/kit/internal";
import { mutateBytes } from "@lattice/kit/testing";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import {
  arbitrary,
  checkOutcome,
  encode,
  hasAbnormalDuration,
  mutated,
  pick,
  seeded,
  singleFieldVariants,
  testContract,
  validExample,
} from "./support/rule-examples.js";

// The same messages for the same seed; VALIDATION_SEED replays another run.
const SEED = Number(process.env["VALIDATION_SEED"] ?? 0x5eed);

interface Method {
  readonly path: string;
  readonly schema: DescMessage;
  readonly decode: (bytes: Buffer) => unknown;
  readonly validator: RequestValidator;
}

/** What the test uses of a method definition: its path and its request decoder. */
type Decoder = Pick<MethodDefinition<unknown, unknown>, "path" | "requestDeserialize">;

/** Every method of the Lattice contracts, with the generated decoder the server uses (wrapped as the kit wraps it). */
function contractMethods(): Method[] {
  const contract = Contract.lattice();
  const validatorFor = RequestValidator.forContract(contract);
  return [GreeterServiceService, UserServiceService, OrderServiceService, PaymentServiceService].flatMap((service) =>
    Object.values<Decoder>(keepRequestBytes(service)).map((method) => {
      const schema = contract.requestSchema(method.path)!;
      return {
        path: method.path,
        schema,
        decode: (bytes: Buffer) => method.requestDeserialize(bytes),
        validator: validatorFor(schema),
      };
    }),
  );
}

describe("the validation fast path on the contracts' requests, against the full checks", () => {
  const methods = contractMethods();

  it("compiles every request type of the contracts (valid requests are never decoded twice)", () => {
    for (const method of methods) assert.ok(method.validator.compiledRules, method.path);
  });

  it("accepts a request exactly when the wire checks and protovalidate find nothing; refusals are theirs", (t) => {
    const rng = seeded(SEED);
    let inputs = 0;
    let accepted = 0;
    let refused = 0;
    for (const method of methods) {
      const { schema, validator } = method;
      const base = validExample(schema, rng);
      assert.deepEqual(validator.violationsOf(encode(schema, base)), [], `${method.path}: a valid example`);
      // A partial update's violations outside its mask are dropped by the full checks; the fast path, which does
      // not read the mask, refuses those requests and leaves them to the full checks.
      const masked = schema.fields.some((f) => f.name === "update_mask");
      const values = [
        ...singleFieldVariants(schema, base, rng),
        ...Array.from({ length: 500 }, () => mutated(schema, base, rng, 2)),
        ...Array.from({ length: 200 }, () => arbitrary(schema, rng)),
      ];
      let valid = 0;
      for (const [i, value] of values.entries()) {
        const bytes = encode(schema, value);
        const message = method.decode(bytes);
        assert.ok(!(message instanceof UndecodableRequest), `${method.path}: generated messages decode`);
        const full = validator.violationsOf(bytes);
        const violations = full.map((v) => `${v.field}: ${v.reason ?? ""}`);
        const fast = validator.acceptsFast(message, bytes);
        const what = () =>
          `${method.path}, seed ${SEED}, message ${i}: ${JSON.stringify(value)}: ${violations.join(", ")}`;
        if (fast) assert.deepEqual(violations, [], `the fast path accepted a request the checks refuse; ${what()}`);
        else if (!masked && !hasAbnormalDuration(value))
          assert.notDeepEqual(violations, [], `the fast path refused a valid request; ${what()}`);
        // The whole check as the validation interceptor makes it: the full checks' violations (field paths, rule
        // ids, messages), or none.
        assert.deepEqual(checkOutcome(validator, message), full, `check; ${what()}`);
        if (violations.length === 0) valid++;
        if (fast) accepted++;
      }
      assert.ok(valid > 0 && valid < values.length, `${method.path}: ${valid} of ${values.length} valid`);
      inputs += values.length;
      refused += values.length - valid;
    }
    t.diagnostic(`${methods.length} methods, ${inputs} inputs: ${accepted} taken by the fast path, ${refused} refused`);
  });

  it("never finds clean bytes that the wire checks refuse: mutated, truncated, nasty and random bytes", (t) => {
    const rng = seeded(SEED + 1);
    const nasty = [
      Buffer.from([0x41, 0x64, 0xff, 0xfe]),
      Buffer.from([0xc3, 0x28]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from("Ada\u0000Lovelace"),
      Buffer.from("é".repeat(40) + "\u0000"),
      Buffer.from("x".repeat(70) + "\u0000"),
      Buffer.from([...Buffer.from("y".repeat(70)), 0xff]),
    ];
    let clean = 0;
    let agreed = 0;
    for (const { path, schema } of methods) {
      const examples = [validExample(schema, rng), arbitrary(schema, rng)].map((v) => encode(schema, v));
      for (let i = 0; i < 1000; i++) {
        let bytes: Uint8Array;
        const roll = rng();
        if (roll < 0.6) bytes = mutateBytes(pick(rng, examples), rng);
        else if (roll < 0.8)
          bytes = withField(pick(rng, examples), pick(rng, schema.fields).number, pick(rng, nasty), rng);
        else bytes = Buffer.from(Array.from({ length: Math.floor(rng() * 40) }, () => Math.floor(rng() * 256)));
        const issues = checkWire(schema, bytes);
        const fast = isWireClean(schema, bytes);
        if (fast)
          assert.deepEqual(
            issues,
            [],
            `${path}, seed ${SEED + 1}: clean to the scan: ${Buffer.from(bytes).toString("hex")}`,
          );
        if (issues.length === 0) clean++;
        if (fast === (issues.length === 0)) agreed++;
      }
    }
    // Mutations make duplicated message fields and unknown groups, which the scan leaves to the full checks.
    t.diagnostic(`${methods.length * 1000} byte strings: ${clean} clean to the wire checks, ${agreed} judged alike`);
    assert.ok(clean > 100 && agreed > 0.9 * methods.length * 1000, `${clean} clean, ${agreed} agreed`);
  });

  it("leaves to the full checks what the generated decoder and protobuf-es read differently or it cannot vouch for", () => {
    const contract = Contract.lattice();
    const createUser = contract.requestSchema("/lattice.user.v1.UserService/CreateUser")!;
    const user = (email: string) =>
      new BinaryWriter().tag(2, WireType.LengthDelimited).string(email).tag(3, WireType.LengthDelimited).string("Ada");
    // `user` twice: protobuf-es merges the two, the generated decoder keeps the last.
    const twice = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(user("a@example.com").finish())
      .tag(1, WireType.LengthDelimited)
      .bytes(user("b@example.com").finish())
      .finish();
    assert.equal(isWireClean(createUser, twice), false);
    assert.deepEqual(checkWire(createUser, twice), []);

    const charge = contract.requestSchema("/lattice.payment.v1.PaymentService/Charge")!;
    const money = (amount: bigint) =>
      new BinaryWriter()
        .tag(2, WireType.LengthDelimited)
        .bytes(new BinaryWriter().tag(2, WireType.Varint).int64(amount).finish())
        .finish();
    const limit = 2n ** 53n - 1n;
    for (const amount of [0n, 2n ** 48n, limit, -limit, -1n]) {
      assert.equal(isWireClean(charge, money(amount)), true, String(amount));
      assert.deepEqual(checkWire(charge, money(amount)), []);
    }
    for (const amount of [limit + 1n, -limit - 1n, 2n ** 63n - 1n, -(2n ** 60n)]) {
      assert.equal(isWireClean(charge, money(amount)), false, String(amount));
      assert.deepEqual(
        checkWire(charge, money(amount)).map((i) => i.reason),
        ["INT64_OUT_OF_RANGE"],
      );
    }

    const greet = contract.requestSchema("/lattice.greeter.v1.GreeterService/Greet")!;
    const unknown = (write: (w: BinaryWriter) => BinaryWriter) =>
      write(new BinaryWriter().tag(1, WireType.LengthDelimited).string("Ada")).finish();
    assert.equal(
      isWireClean(
        greet,
        unknown((w) => w.tag(9, WireType.Varint).uint64(2n ** 63n)),
      ),
      true,
    );
    assert.equal(
      isWireClean(
        greet,
        unknown((w) => w.tag(9, WireType.Bit64).fixed64(1n)),
      ),
      true,
    );
    assert.equal(
      isWireClean(
        greet,
        unknown((w) => w.tag(9, WireType.Bit32).fixed32(1)),
      ),
      true,
    );
    assert.equal(
      isWireClean(
        greet,
        unknown((w) => w.tag(9, WireType.LengthDelimited).bytes(new Uint8Array(3))),
      ),
      true,
    );
    const group = unknown((w) => w.tag(9, WireType.StartGroup).tag(9, WireType.EndGroup));
    assert.equal(isWireClean(greet, group), false);
    assert.deepEqual(checkWire(greet, group), []);
  });

  it("counts a list's elements and a map's entries against their bounds", () => {
    const createOrder = Contract.lattice().requestSchema("/lattice.order.v1.OrderService/CreateOrder")!;
    const items = (count: number) => {
      const writer = new BinaryWriter();
      for (let i = 0; i < count; i++) writer.tag(2, WireType.LengthDelimited).bytes(new Uint8Array());
      return writer.finish();
    };
    assert.equal(isWireClean(createOrder, items(100)), true);
    assert.equal(isWireClean(createOrder, items(101)), false);
    assert.deepEqual(
      checkWire(createOrder, items(101)).map((i) => i.reason),
      ["repeated.max_items"],
    );
    const map = testContract().registry.getMessage("lattice.kittest.v1.MapRule")!;
    const entries = (count: number) => {
      const writer = new BinaryWriter();
      for (let i = 0; i < count; i++)
        writer
          .tag(1, WireType.LengthDelimited)
          .bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string(`k${i}`).finish());
      return writer.finish();
    };
    assert.equal(isWireClean(map, entries(DEFAULT_MAX_ITEMS)), true);
    assert.equal(isWireClean(map, entries(DEFAULT_MAX_ITEMS + 1)), false);
    assert.deepEqual(
      checkWire(map, entries(DEFAULT_MAX_ITEMS + 1)).map((i) => i.reason),
      ["TOO_MANY_ITEMS"],
    );
  });

  it("reads lists packed or not, and map entries, as the wire checks do", () => {
    const contract = testContract();
    const rules = contract.registry.getMessage("lattice.kittest.v1.Rules")!;
    const count = rules.fields.find((f) => f.name === "r_count")!.number;
    const packed = new BinaryWriter().tag(count, WireType.LengthDelimited).fork().int32(1).int32(-1).join().finish();
    const unpacked = new BinaryWriter()
      .tag(count, WireType.Varint)
      .int32(1)
      .tag(count, WireType.Varint)
      .int32(2)
      .finish();
    for (const bytes of [packed, unpacked]) {
      assert.equal(isWireClean(rules, bytes), true);
      assert.deepEqual(checkWire(rules, bytes), []);
    }
    const map = contract.registry.getMessage("lattice.kittest.v1.MapRule")!;
    const entry = (write: (w: BinaryWriter) => BinaryWriter) =>
      new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(write(new BinaryWriter()).finish()).finish();
    const good = entry((w) =>
      w.tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).string("v"),
    );
    assert.equal(isWireClean(map, good), true);
    assert.deepEqual(checkWire(map, good), []);
    const nul = entry((w) =>
      w.tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).string("\0"),
    );
    assert.equal(isWireClean(map, nul), false);
    assert.deepEqual(
      checkWire(map, nul).map((i) => [i.field, i.reason]),
      [['m["k"]', "NUL_CHARACTER"]],
    );
  });
});

/** `bytes` with a length-delimited field `number` holding `value` appended (at the top level). */
function withField(bytes: Uint8Array, number: number, value: Uint8Array, rng: () => number): Uint8Array {
  const extra = new BinaryWriter().tag(number, WireType.LengthDelimited).bytes(value).finish();
  return rng() < 0.5 ? Buffer.concat([bytes, extra]) : Buffer.concat([extra, bytes]);
}
