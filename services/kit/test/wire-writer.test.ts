import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter as ReferenceWriter, WireType } from "@bufbuild/protobuf/wire";
import { contractRegistry } from "@lattice/kit";
import { BinaryWriter } from "@lattice/proto/runtime/wire";
import { loadDescriptorSet } from "@lattice/kit/internal";
import { seededRandom as seeded } from "@lattice/kit/testing";
import * as greeter from "@lattice/proto/lattice/greeter/v1/greeter";
import * as user from "@lattice/proto/lattice/user/v1/user";
import * as order from "@lattice/proto/lattice/order/v1/order";
import * as orderEvents from "@lattice/proto/lattice/order/v1/events";
import * as payment from "@lattice/proto/lattice/payment/v1/payment";
import * as paymentEvents from "@lattice/proto/lattice/payment/v1/events";
import * as auth from "@lattice/proto/lattice/auth/v1/annotations";
import * as status from "@lattice/proto/google/rpc/status";
import * as errorDetails from "@lattice/proto/google/rpc/error_details";
import * as health from "@lattice/proto/grpc/health/v1/health";
import * as descriptor from "@lattice/proto/google/protobuf/descriptor";
import * as validate from "@lattice/proto/buf/validate/validate";
import * as http from "@lattice/proto/google/api/http";

/**
 * Lattice's wire writer must write exactly what @bufbuild/protobuf's writes (ts-proto's generated code was written
 * against that one), and throw where it throws.
 */

type Write = (writer: ReferenceWriter) => unknown;

/** The bytes (or the error) of `write` with each writer. */
function both(write: Write): { ours: Buffer | Error; reference: Buffer | Error } {
  const run = (make: () => ReferenceWriter) => {
    try {
      const writer = make();
      write(writer);
      return Buffer.from(writer.finish());
    } catch (error) {
      return error as Error;
    }
  };
  return {
    ours: run(() => new BinaryWriter() as unknown as ReferenceWriter),
    reference: run(() => new ReferenceWriter()),
  };
}

function assertSame(write: Write, what: string): void {
  const { ours, reference } = both(write);
  if (reference instanceof Error) {
    assert.ok(
      ours instanceof Error,
      `${what}: @bufbuild/protobuf throws (${reference.message}), Lattice's writer wrote`,
    );
    return;
  }
  assert.ok(!(ours instanceof Error), `${what}: Lattice's writer threw ${String(ours)}`);
  assert.deepEqual(ours, reference, what);
}

const INT32S = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, -1, -2, -128, -(2 ** 31)];
const NOT_INT32 = [1.5, NaN, Infinity, 2 ** 31, -(2 ** 31) - 1, "12", "x", undefined, null, true];
const UINT32S = [0, 1, 127, 128, 2 ** 21, 2 ** 28, 2 ** 32 - 1];
const NOT_UINT32 = [-1, 1.5, 2 ** 32, NaN, "7", "x", undefined];
const INT64S: (number | bigint | string)[] = [
  0,
  1,
  -1,
  127,
  128,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 1,
  -(2 ** 32),
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1_700_000_000,
  -1_700_000_000,
  2n ** 63n - 1n,
  -(2n ** 63n),
  123n,
  "-42",
  "9007199254740993",
  2 ** 60,
  -(2 ** 60),
];
const NOT_INT64: unknown[] = [1.5, NaN, Infinity, "x", 2n ** 63n, undefined];
const UINT64S: (number | bigint | string)[] = [
  0,
  1,
  128,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  2n ** 64n - 1n,
  "42",
  2 ** 60,
];
const NOT_UINT64: unknown[] = [-1, 1.5, -1n, 2n ** 64n, "x", undefined];
const FLOATS = [0, -0, 1.5, -2.25, 3.4e38, 1e-45, NaN, Infinity, -Infinity, "2.5", "NaN"];
const NOT_FLOAT32 = [3.5e38, -3.5e38, "x", undefined];
const STRINGS = [
  "",
  "a",
  "Hello, Ada!",
  "x".repeat(42),
  "x".repeat(43),
  "x".repeat(127),
  "x".repeat(128),
  "x".repeat(20_000),
  "é",
  "é".repeat(42),
  "é".repeat(43),
  "é".repeat(63),
  "é".repeat(64),
  "é".repeat(127),
  "こ".repeat(42),
  "こ".repeat(43),
  "😀".repeat(32),
  "こんにちは、Adaさん！",
  "😀".repeat(21),
  "😀".repeat(101),
  "a\uD800b",
  "\uDFFF",
  "x".repeat(100) + "é",
  "\u0000Ada",
];

describe("Lattice's wire writer", () => {
  it("writes integers, and refuses what is not one, as @bufbuild/protobuf does", () => {
    const methods: [keyof ReferenceWriter, readonly unknown[]][] = [
      ["int32", [...INT32S, ...NOT_INT32]],
      ["sint32", [...INT32S, ...NOT_INT32]],
      ["sfixed32", [...INT32S, ...NOT_INT32]],
      ["uint32", [...UINT32S, ...NOT_UINT32]],
      ["fixed32", [...UINT32S, ...NOT_UINT32]],
      ["int64", [...INT64S, ...NOT_INT64]],
      ["sint64", [...INT64S, ...NOT_INT64]],
      ["sfixed64", [...INT64S, ...NOT_INT64]],
      ["uint64", [...UINT64S, ...NOT_UINT64]],
      ["fixed64", [...UINT64S, ...NOT_UINT64]],
    ];
    for (const [method, values] of methods)
      for (const value of values)
        assertSame(
          (w) => (w[method] as (v: unknown) => unknown).call(w.tag(1, WireType.Varint), value),
          `${method}(${typeof value === "bigint" ? `${value}n` : JSON.stringify(value)})`,
        );
  });

  it("writes floats, doubles, booleans, strings and bytes as @bufbuild/protobuf does", () => {
    for (const value of [...FLOATS, ...NOT_FLOAT32])
      assertSame((w) => w.float(value as number), `float(${String(value)})`);
    for (const value of [...FLOATS, 1e300, -1e-300])
      assertSame((w) => w.double(value as number), `double(${String(value)})`);
    for (const value of [true, false]) assertSame((w) => w.bool(value), `bool(${value})`);
    for (const value of STRINGS)
      assertSame((w) => w.uint32(10).string(value).uint32(16).int32(1), `string of ${value.length} units`);
    assertSame((w) => w.string(42 as unknown as string), "string(42)");
    for (const size of [0, 1, 127, 128, 70_000])
      assertSame((w) => w.bytes(new Uint8Array(size).fill(7)).raw(new Uint8Array([1, 2, 3])), `bytes(${size})`);
  });

  it("writes nested length-delimited values of every size", () => {
    for (const size of [0, 100, 126, 127, 128, 129, 16_383, 16_384, 2_097_152]) {
      assertSame((w) => {
        w.uint32(10).fork().uint32(10).fork();
        w.raw(new Uint8Array(size).fill(1));
        w.join().uint32(16).int32(3).join().uint32(18).string("after");
      }, `fork of ${size} bytes`);
    }
    assertSame((w) => w.join(), "join without fork");
  });

  it("keeps each writer's bytes when writers are interleaved or abandoned", () => {
    const expected = (text: string) =>
      Buffer.from(new ReferenceWriter().uint32(10).string(text).uint32(16).int32(7).finish());
    const a = new BinaryWriter().uint32(10).string("first");
    const b = new BinaryWriter().uint32(10).string("second");
    a.uint32(16).int32(7);
    const c = new BinaryWriter().uint32(10).string("third".repeat(1000));
    b.uint32(16).int32(7);
    assert.deepEqual(a.finish(), expected("first"));
    c.uint32(16).int32(7);
    assert.deepEqual(b.finish(), expected("second"));
    assert.deepEqual(c.finish(), expected("third".repeat(1000)));
    // One that throws half way leaves the next correct.
    assert.throws(() => new BinaryWriter().uint32(10).string("x").int32(1.5));
    assert.deepEqual(new BinaryWriter().uint32(10).string("next").uint32(16).int32(7).finish(), expected("next"));
    // A finished writer can be used again, and its earlier result stays as it was.
    const writer = new BinaryWriter();
    const one = writer.uint32(10).string("one").uint32(16).int32(7).finish();
    const two = writer.uint32(10).string("two").uint32(16).int32(7).finish();
    assert.deepEqual([one, two], [expected("one"), expected("two")]);
  });

  it("encodes every generated message as @bufbuild/protobuf's writer does", () => {
    const registry = contractRegistry();
    const schemas = [...registry].filter((t): t is DescMessage => t.kind === "message");
    const modules = [
      greeter,
      user,
      order,
      orderEvents,
      payment,
      paymentEvents,
      auth,
      status,
      errorDetails,
      health,
      descriptor,
      validate,
      http,
    ] as const;
    let rng = seeded(16);
    let checked = 0;
    for (const module of modules) {
      const pkg = (module as { protobufPackage: string }).protobufPackage;
      for (const [name, value] of Object.entries(module)) {
        if (!isMessageFns(value)) continue;
        const schema = schemas.find(
          (m) => m.typeName.startsWith(`${pkg}.`) && m.typeName.slice(pkg.length + 1).replaceAll(".", "_") === name,
        );
        // Map entries have no descriptor of their own here; their maps cover them.
        if (!schema && name.endsWith("Entry")) continue;
        assert.ok(schema, `no descriptor for ${pkg}.${name}`);
        for (let i = 0; i < 25; i++) {
          const message = value.decode(randomMessage(schema, rng, 0));
          assertSame((w) => value.encode(message, w as never), `${schema.typeName} #${i}`);
        }
        checked++;
      }
      rng = seeded(checked);
    }
    assert.ok(checked > 100, `only ${checked} message types checked`);
    // A large real message: the contracts' own descriptor set.
    const set = descriptor.FileDescriptorSet.decode(loadDescriptorSet());
    assertSame((w) => descriptor.FileDescriptorSet.encode(set, w as never), "the descriptor set");
  });
});

interface MessageFns {
  encode(message: unknown, writer?: never): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromPartial: unknown;
}

function isMessageFns(value: unknown): value is MessageFns {
  return (
    typeof value === "object" && value !== null && "encode" in value && "decode" in value && "fromPartial" in value
  );
}

const TEXTS = ["", "Ada", "é", "users/0000-4000", "こんにちは", "😀", "x".repeat(130), "Grace Hopper ".repeat(20)];

/** Valid wire bytes of a random `schema` message (64-bit values within ±2^53: ts-proto reads them as numbers). */
function randomMessage(schema: DescMessage, rng: () => number, depth: number): Uint8Array {
  const writer = new ReferenceWriter();
  for (const field of schema.fields) {
    if (rng() < 0.4) continue;
    const repeats = field.fieldKind === "list" || field.fieldKind === "map" ? Math.floor(rng() * 4) : 1;
    for (let i = 0; i < repeats; i++) writeField(writer, field, rng, depth);
  }
  return writer.finish();
}

function writeField(writer: ReferenceWriter, field: DescField, rng: () => number, depth: number): void {
  if (field.fieldKind === "map") {
    const entry = new ReferenceWriter();
    writeScalar(entry, 1, field.mapKey, rng);
    if (field.mapKind === "message") {
      if (depth < 3) entry.tag(2, WireType.LengthDelimited).bytes(randomMessage(field.message, rng, depth + 1));
    } else if (field.mapKind === "enum") entry.tag(2, WireType.Varint).int32(Math.floor(rng() * 4));
    else writeScalar(entry, 2, field.scalar, rng);
    writer.tag(field.number, WireType.LengthDelimited).bytes(entry.finish());
    return;
  }
  if (field.message) {
    if (depth >= 3) return;
    const bytes =
      field.message.typeName === "google.protobuf.Timestamp" || field.message.typeName === "google.protobuf.Duration"
        ? new ReferenceWriter()
            .tag(1, WireType.Varint)
            .int64(Math.floor(rng() * 4e9) - 2e9)
            .tag(2, WireType.Varint)
            .int32(Math.floor(rng() * 1000) * 1_000_000)
            .finish()
        : randomMessage(field.message, rng, depth + 1);
    writer.tag(field.number, WireType.LengthDelimited).bytes(bytes);
    return;
  }
  if (field.enum) {
    writer.tag(field.number, WireType.Varint).int32(Math.floor(rng() * 6) - 1);
    return;
  }
  writeScalar(writer, field.number, field.scalar, rng);
}

function writeScalar(writer: ReferenceWriter, number: number, scalar: ScalarType, rng: () => number): void {
  const int = () => (rng() < 0.5 ? Math.floor(rng() * 300) : Math.floor((rng() - 0.5) * 2 ** 53));
  switch (scalar) {
    case ScalarType.STRING:
      writer.tag(number, WireType.LengthDelimited).string(TEXTS[Math.floor(rng() * TEXTS.length)]!);
      return;
    case ScalarType.BYTES:
      writer.tag(number, WireType.LengthDelimited).bytes(new Uint8Array(Math.floor(rng() * 200)).fill(9));
      return;
    case ScalarType.INT64:
      writer.tag(number, WireType.Varint).int64(int());
      return;
    case ScalarType.SINT64:
      writer.tag(number, WireType.Varint).sint64(int());
      return;
    case ScalarType.SFIXED64:
      writer.tag(number, WireType.Bit64).sfixed64(int());
      return;
    case ScalarType.UINT64:
      writer.tag(number, WireType.Varint).uint64(Math.abs(int()));
      return;
    case ScalarType.FIXED64:
      writer.tag(number, WireType.Bit64).fixed64(Math.abs(int()));
      return;
    case ScalarType.DOUBLE:
      writer.tag(number, WireType.Bit64).double((rng() - 0.5) * 1e6);
      return;
    case ScalarType.FLOAT:
      writer.tag(number, WireType.Bit32).float(rng());
      return;
    case ScalarType.FIXED32:
      writer.tag(number, WireType.Bit32).fixed32(Math.floor(rng() * 2 ** 32));
      return;
    case ScalarType.SFIXED32:
      writer.tag(number, WireType.Bit32).sfixed32(Math.floor((rng() - 0.5) * 2 ** 32));
      return;
    case ScalarType.SINT32:
      writer.tag(number, WireType.Varint).sint32(Math.floor((rng() - 0.5) * 2 ** 32));
      return;
    case ScalarType.UINT32:
      writer.tag(number, WireType.Varint).uint32(Math.floor(rng() * 2 ** 32));
      return;
    case ScalarType.BOOL:
      writer.tag(number, WireType.Varint).bool(rng() < 0.5);
      return;
    default:
      writer.tag(number, WireType.Varint).int32(Math.floor((rng() - 0.5) * 2 ** 32));
  }
}
