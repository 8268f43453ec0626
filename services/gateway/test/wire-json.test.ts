import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fromBinary,
  ScalarType,
  toJson,
  type DescField,
  type DescMessage,
  type FileRegistry,
  type JsonWriteOptions,
} from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { contractRegistry } from "@lattice/kit";
import { ResponseJson } from "../src/rest/response-json.js";
import { wireJsonReader, WireJsonUnsupported, type WireJsonReader } from "../src/rest/wire-json.js";
import { jsonOptions } from "../src/rest/json.js";
import { testRegistry } from "./support/contracts.js";

/**
 * The JSON read straight from the wire must be exactly (key order included) what @bufbuild/protobuf's
 * toJson(fromBinary(...)) gives with the gateway's options, and for bytes it does not take it must step aside
 * (WireJsonUnsupported), never answer where @bufbuild/protobuf would throw.
 */

const messages = (registry: FileRegistry) => [...registry].filter((t): t is DescMessage => t.kind === "message");

interface Tally {
  direct: number;
  fallback: number;
}

function reference(schema: DescMessage, bytes: Uint8Array, write: Partial<JsonWriteOptions>): string | Error {
  try {
    return JSON.stringify(toJson(schema, fromBinary(schema, bytes), write));
  } catch (error) {
    return error as Error;
  }
}

function check(
  schema: DescMessage,
  reader: WireJsonReader,
  bytes: Uint8Array,
  write: Partial<JsonWriteOptions>,
  tally: Tally,
  what: string,
): void {
  const expected = reference(schema, bytes, write);
  let actual: string;
  try {
    actual = JSON.stringify(reader(bytes));
  } catch (error) {
    assert.ok(error instanceof WireJsonUnsupported, `${what}: threw ${String(error)}`);
    tally.fallback++;
    return;
  }
  assert.ok(
    !(expected instanceof Error),
    `${what}: @bufbuild/protobuf throws (${String(expected)}), the reader answered`,
  );
  assert.equal(actual, expected, what);
  tally.direct++;
}

describe("JSON read from the wire", () => {
  const registry = testRegistry("proto-json");
  const write = jsonOptions(registry).write;

  it("covers proto3 messages, Timestamp and Duration, and leaves other well-known types alone", () => {
    const get = (name: string) => registry.getMessage(`lattice.jsontest.v1.${name}`)!;
    for (const name of ["Scalars", "Lists", "Maps", "Choice", "Everything"])
      assert.ok(wireJsonReader(get(name)), `${name} is covered`);
    assert.equal(wireJsonReader(get("WithWrapper")), undefined);
    assert.equal(wireJsonReader(get("WithStruct")), undefined);
  });

  it("answers as @bufbuild/protobuf for random messages of every kind of field", () => {
    const tally = { direct: 0, fallback: 0 };
    const rng = seeded(13);
    for (const schema of messages(registry)) {
      const reader = wireJsonReader(schema);
      if (!reader) continue;
      for (let i = 0; i < 300; i++)
        check(schema, reader, randomMessage(schema, rng, 0), write, tally, `${schema.typeName} #${i}`);
      check(schema, reader, new Uint8Array(0), write, tally, `${schema.typeName}, empty`);
    }
    // Messages sent twice (merged) are the only valid inputs left to @bufbuild/protobuf.
    assert.ok(tally.direct > tally.fallback * 4, `read directly ${tally.direct}, fell back ${tally.fallback}`);
  });

  it("steps aside for bytes it does not take, and never answers where @bufbuild/protobuf throws", () => {
    const tally = { direct: 0, fallback: 0 };
    const rng = seeded(7);
    for (const schema of messages(registry)) {
      const reader = wireJsonReader(schema);
      if (!reader) continue;
      for (let i = 0; i < 300; i++)
        check(schema, reader, mutate(randomMessage(schema, rng, 0), rng), write, tally, `${schema.typeName} #${i}`);
    }
    const everything = registry.getMessage("lattice.jsontest.v1.Everything")!;
    const reader = wireJsonReader(everything)!;
    const scalars = (w: BinaryWriter) => new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(w.finish()).finish();
    const cases: [string, Uint8Array][] = [
      [
        "invalid UTF-8",
        scalars(new BinaryWriter().tag(14, WireType.LengthDelimited).bytes(new Uint8Array([0x41, 0xff]))),
      ],
      [
        "an encoded surrogate",
        scalars(new BinaryWriter().tag(14, WireType.LengthDelimited).bytes(new Uint8Array([0xed, 0xa0, 0x80]))),
      ],
      ["a Timestamp past 9999", timestamp(253402300800, 0)],
      ["a Timestamp before year 1", timestamp(-62135596801, 0)],
      ["negative nanos", timestamp(0, -1)],
      ["a wire type the field does not have", new BinaryWriter().tag(9, WireType.Varint).int32(1).finish()],
      ["a group", new BinaryWriter().tag(99, WireType.StartGroup).tag(99, WireType.EndGroup).finish()],
      ["truncated", new BinaryWriter().tag(9, WireType.LengthDelimited).uint32(10).finish()],
    ];
    for (const [what, bytes] of cases) check(everything, reader, bytes, write, tally, what);
  });

  it("writes Timestamps as Date#toISOString does, over the whole range", () => {
    const schema = registry.getMessage("lattice.jsontest.v1.Everything")!;
    const reader = wireJsonReader(schema)!;
    const rng = seeded(3);
    const tally = { direct: 0, fallback: 0 };
    const edges = [-62135596800, 253402300799, 0, -1, 951782400, 951868800, 4107542400, 1709208000];
    for (let i = 0; i < 3000; i++) {
      const seconds = i < edges.length ? edges[i]! : Math.floor(-62135596800 + rng() * (253402300799 + 62135596800));
      const nanos = [0, 1, 1_000, 1_000_000, 999_999_999, Math.floor(rng() * 1e9)][i % 6]!;
      check(schema, reader, timestamp(seconds, nanos), write, tally, `Timestamp ${seconds}s ${nanos}ns`);
    }
    assert.equal(tally.fallback, 0);
  });

  it("answers as @bufbuild/protobuf for every message of the contracts", () => {
    const contracts = contractRegistry();
    const contractWrite = jsonOptions(contracts).write;
    const tally = { direct: 0, fallback: 0 };
    const rng = seeded(21);
    let covered = 0;
    for (const schema of messages(contracts)) {
      const reader = wireJsonReader(schema);
      if (!reader) continue;
      covered++;
      for (let i = 0; i < 30; i++)
        check(schema, reader, randomMessage(schema, rng, 0), contractWrite, tally, schema.typeName);
    }
    assert.ok(covered > 50, `${covered} contract messages covered`);
  });

  it("ResponseJson gives @bufbuild/protobuf's JSON, and its errors, whichever way it reads", () => {
    const responses = new ResponseJson(write);
    const schema = registry.getMessage("lattice.jsontest.v1.Everything")!;
    const rng = seeded(5);
    for (let i = 0; i < 200; i++) {
      const bytes = i % 2 ? mutate(randomMessage(schema, rng, 0), rng) : randomMessage(schema, rng, 0);
      const expected = reference(schema, bytes, write);
      let actual: string | Error;
      try {
        actual = JSON.stringify(responses.of(schema, bytes));
      } catch (error) {
        actual = error as Error;
      }
      if (expected instanceof Error) assert.equal(String(actual), String(expected));
      else assert.equal(actual, expected);
    }
  });
});

function timestamp(seconds: number, nanos: number): Uint8Array {
  const ts = new BinaryWriter().tag(1, WireType.Varint).int64(seconds).tag(2, WireType.Varint).int32(nanos).finish();
  return new BinaryWriter().tag(5, WireType.LengthDelimited).bytes(ts).finish();
}

function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function pick<T>(rng: () => number, values: readonly T[]): T {
  return values[Math.floor(rng() * values.length)]!;
}

const TEXTS = [
  "",
  "Ada",
  "é",
  "users/0000-4000",
  "こんにちは",
  "😀",
  "x".repeat(200),
  "\uFFFD",
  "\uFEFFbom",
  "a\u0000b",
];
const INT64S = [0n, 1n, -1n, 2n ** 31n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 12345678901234n, -987654321n];
const UINT64S = [0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
const FLOATS = [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 3.4e38, 1e-40, 0.1];

/** Valid wire bytes of a random `schema` message, with unknown fields and repeated singular fields now and then. */
function randomMessage(schema: DescMessage, rng: () => number, depth: number): Uint8Array {
  const writer = new BinaryWriter();
  const fields = [...schema.fields].sort(() => rng() - 0.5);
  for (const field of fields) {
    if (rng() < 0.35) continue;
    const repeats =
      field.fieldKind === "list" || field.fieldKind === "map" ? Math.floor(rng() * 4) : rng() < 0.1 ? 2 : 1;
    for (let i = 0; i < repeats; i++) writeField(writer, field, rng, depth);
  }
  if (rng() < 0.2) writer.tag(900 + Math.floor(rng() * 10), WireType.Varint).int32(7);
  if (rng() < 0.1) writer.tag(950, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3]));
  if (rng() < 0.1) writer.tag(951, WireType.Bit64).fixed64(3n);
  if (rng() < 0.1) writer.tag(952, WireType.Bit32).fixed32(3);
  return writer.finish();
}

function writeField(writer: BinaryWriter, field: DescField, rng: () => number, depth: number): void {
  switch (field.fieldKind) {
    case "map": {
      const entry = new BinaryWriter();
      if (rng() < 0.9) writeScalar(entry, 1, field.mapKey, rng);
      if (rng() < 0.9) {
        if (field.mapKind === "message")
          entry.tag(2, WireType.LengthDelimited).bytes(messageBytes(field.message, rng, depth));
        else if (field.mapKind === "enum") entry.tag(2, WireType.Varint).int32(Math.floor(rng() * 5) - 1);
        else writeScalar(entry, 2, field.scalar, rng);
      }
      writer.tag(field.number, WireType.LengthDelimited).bytes(entry.finish());
      return;
    }
    case "list":
      if (field.listKind === "message") {
        writer.tag(field.number, WireType.LengthDelimited).bytes(messageBytes(field.message, rng, depth));
      } else if (field.listKind === "enum") {
        writer.tag(field.number, WireType.Varint).int32(Math.floor(rng() * 5) - 1);
      } else if (field.scalar !== ScalarType.STRING && field.scalar !== ScalarType.BYTES && rng() < 0.5) {
        // packed
        const packed = new BinaryWriter();
        const n = Math.floor(rng() * 4);
        for (let i = 0; i < n; i++) writeScalarValue(packed, field.scalar, rng);
        writer.tag(field.number, WireType.LengthDelimited).bytes(packed.finish());
      } else writeScalar(writer, field.number, field.scalar, rng);
      return;
    case "message":
      if (depth < 3) writer.tag(field.number, WireType.LengthDelimited).bytes(messageBytes(field.message, rng, depth));
      return;
    case "enum":
      writer.tag(field.number, WireType.Varint).int32(Math.floor(rng() * 5) - 1);
      return;
    case "scalar":
      writeScalar(writer, field.number, field.scalar, rng);
  }
}

function messageBytes(schema: DescMessage, rng: () => number, depth: number): Uint8Array {
  if (schema.typeName === "google.protobuf.Timestamp" || schema.typeName === "google.protobuf.Duration") {
    const w = new BinaryWriter();
    const duration = schema.typeName === "google.protobuf.Duration";
    const seconds = duration ? Math.floor((rng() - 0.5) * 6e11) : Math.floor(rng() * 2e11) - 6e10;
    const nanos = Math.floor(rng() * 1e9) * (duration && seconds < 0 ? -1 : 1);
    if (rng() < 0.9) w.tag(1, WireType.Varint).int64(seconds);
    if (rng() < 0.7) w.tag(2, WireType.Varint).int32(rng() < 0.5 ? nanos : Math.floor(nanos / 1e6) * 1e6);
    return w.finish();
  }
  return depth < 3 ? randomMessage(schema, rng, depth + 1) : new Uint8Array(0);
}

function writeScalar(writer: BinaryWriter, number: number, scalar: ScalarType, rng: () => number): void {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      writer.tag(number, WireType.LengthDelimited);
      break;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      writer.tag(number, WireType.Bit64);
      break;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      writer.tag(number, WireType.Bit32);
      break;
    default:
      writer.tag(number, WireType.Varint);
  }
  writeScalarValue(writer, scalar, rng);
}

function writeScalarValue(writer: BinaryWriter, scalar: ScalarType, rng: () => number): void {
  const int32 = () => pick(rng, [0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), Math.floor((rng() - 0.5) * 2 ** 32)]);
  switch (scalar) {
    case ScalarType.STRING:
      writer.string(pick(rng, TEXTS));
      return;
    case ScalarType.BYTES:
      writer.bytes(new Uint8Array(Math.floor(rng() * 8)).map(() => Math.floor(rng() * 256)));
      return;
    case ScalarType.INT64:
      writer.int64(pick(rng, INT64S));
      return;
    case ScalarType.SINT64:
      writer.sint64(pick(rng, INT64S));
      return;
    case ScalarType.SFIXED64:
      writer.sfixed64(pick(rng, INT64S));
      return;
    case ScalarType.UINT64:
      writer.uint64(pick(rng, UINT64S));
      return;
    case ScalarType.FIXED64:
      writer.fixed64(pick(rng, UINT64S));
      return;
    case ScalarType.DOUBLE:
      writer.double(pick(rng, FLOATS));
      return;
    case ScalarType.FLOAT:
      writer.float(pick(rng, FLOATS));
      return;
    case ScalarType.FIXED32:
      writer.fixed32(Math.floor(rng() * 2 ** 32));
      return;
    case ScalarType.SFIXED32:
      writer.sfixed32(int32());
      return;
    case ScalarType.SINT32:
      writer.sint32(int32());
      return;
    case ScalarType.UINT32:
      writer.uint32(Math.floor(rng() * 2 ** 32));
      return;
    case ScalarType.BOOL:
      writer.bool(rng() < 0.5);
      return;
    default:
      writer.int32(int32());
  }
}

/** Bit flips, truncations, insertions and deletions. */
function mutate(bytes: Uint8Array, rng: () => number): Uint8Array {
  let out = Buffer.from(bytes);
  const edits = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rng() * (out.length + 1));
    switch (Math.floor(rng() * 4)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << Math.floor(rng() * 8);
        break;
      case 1:
        out = out.subarray(0, at);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), Buffer.from([Math.floor(rng() * 256)]), out.subarray(at)]);
        break;
      default:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    }
  }
  return out;
}
