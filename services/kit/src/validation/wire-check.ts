import { isUtf8 } from "node:buffer";
import { getOption, hasOption, isFieldSet, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  field as fieldRules,
  MapRulesSchema,
  RepeatedRulesSchema,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/**
 * The rules every field of every request gets, whatever its contract says, checked on the wire bytes (the decoded
 * message no longer shows them):
 *
 * - a `string` is valid UTF-8 (proto3 requires it; grpc-go, Java and C++ reject such a request, ts-proto would
 *   silently substitute U+FFFD and the service would store that);
 * - a `string` holds no NUL character (U+0000): PostgreSQL's text types cannot store it, C strings end at it, and
 *   no Lattice field means it; a field that needs it is `bytes`;
 * - a 64-bit integer is within ±(2^53 − 1): Lattice generates int64 as JavaScript numbers (ts-proto forceLong=number),
 *   exact only in that range;
 * - the bytes are well-formed protobuf for the message: tags, lengths and varints complete, each known field with
 *   its own wire type, messages (and unknown groups) nested at most MAX_DEPTH deep.
 *
 * And a bound on every repeated field and map, here because it bounds the work of all the others: more elements
 * than the contract's `repeated.max_items` (or `map.max_pairs`) is refused as protovalidate words it, and a field
 * whose contract sets no bound takes at most DEFAULT_MAX_ITEMS; the elements past the bound are not looked into,
 * and protovalidate is not run. protovalidate evaluates every element before it counts them (about 15 µs an element
 * with rules, 2 µs a FieldMask path: a 4 MiB request of two-byte elements held the event loop for 30 s).
 *
 * Each problem names the field in the proto's own names, as protovalidate does ("items[0].unit_price.amount_minor").
 */

/** How deep messages (and groups in unknown fields) may nest: protobuf C++'s and protobuf-es's default limit. */
export const MAX_DEPTH = 100;

/**
 * Elements of one repeated field (or entries of one map) in one message when its contract sets no bound. A field
 * that needs more declares its own `max_items` / `max_pairs`.
 */
export const DEFAULT_MAX_ITEMS = 10_000;

/** Why a field is refused; the reason of its BadRequest field violation. */
export type WireIssueReason =
  | "MALFORMED"
  | "INVALID_UTF8"
  | "NUL_CHARACTER"
  | "INT64_OUT_OF_RANGE"
  | "TOO_DEEP"
  | "TOO_MANY_ITEMS"
  | "repeated.max_items"
  | "map.max_pairs";

export interface WireIssue {
  /** Path of the field, e.g. "user.display_name"; "" when the message itself is malformed before any field. */
  readonly field: string;
  readonly description: string;
  readonly reason: WireIssueReason;
  /** The bytes cannot be decoded as the message at all (as opposed to decoding into a value Lattice refuses). */
  readonly fatal: boolean;
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;
const INT64_DESCRIPTION = `must be between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;

/** Problems in `bytes` read as `schema`, in wire order; empty when the message is fine. */
export function checkWire(schema: DescMessage, bytes: Uint8Array): WireIssue[] {
  const issues: WireIssue[] = [];
  walkMessage(schema, bytes, "", 1, issues);
  return issues;
}

class Malformed extends Error {}

/** Walks one message; a malformation stops this message's walk (nothing after it can be read reliably). */
function walkMessage(schema: DescMessage, bytes: Uint8Array, path: string, depth: number, issues: WireIssue[]): void {
  if (depth > MAX_DEPTH) {
    issues.push({
      field: path,
      description: `nests deeper than ${MAX_DEPTH} messages`,
      reason: "TOO_DEEP",
      fatal: true,
    });
    return;
  }
  const reader = new BinaryReader(bytes);
  const counts = new Map<number, number>();
  let field: DescField | undefined;
  let fieldPath = path;
  try {
    while (reader.pos < reader.len) {
      field = undefined;
      fieldPath = path;
      const [number, wireType] = reader.tag();
      field = fieldsOf(schema).get(number);
      if (!field) {
        if (wireType === WireType.EndGroup) throw new Malformed("unexpected end-group tag");
        reader.skip(wireType, number, MAX_DEPTH - depth);
        continue;
      }
      fieldPath = join(path, field.name);
      walkField(field, wireType, reader, fieldPath, counts, depth, issues);
      if (reader.pos > reader.len) throw new Malformed("truncated");
    }
    for (const [number, count] of counts) {
      const counted = fieldsOf(schema).get(number)!;
      const bound = boundOf(counted);
      if (count > bound.max)
        issues.push({
          field: join(path, counted.name),
          description: `must contain no more than ${bound.max} ${counted.fieldKind === "map" ? "pair(s)" : "item(s)"}`,
          reason: bound.reason,
          fatal: true,
        });
    }
  } catch (error) {
    const detail = error instanceof Malformed ? error.message : describeReadError(error);
    issues.push({
      field: fieldPath,
      description: `is not valid protobuf: ${detail}`,
      reason: "MALFORMED",
      fatal: true,
    });
  }
}

function walkField(
  field: DescField,
  wireType: WireType,
  reader: BinaryReader,
  path: string,
  counts: Map<number, number>,
  depth: number,
  issues: WireIssue[],
): void {
  switch (field.fieldKind) {
    case "scalar":
      expectWireType(wireType, wireTypeOf(field.scalar));
      readScalar(field.scalar, reader, path, issues);
      return;
    case "enum":
      expectWireType(wireType, WireType.Varint);
      reader.int32();
      return;
    case "message":
      expectWireType(wireType, WireType.LengthDelimited);
      walkMessage(field.message, reader.bytes(), path, depth + 1, issues);
      return;
    case "list": {
      let index = counts.get(field.number) ?? 0;
      if (field.listKind === "message") {
        expectWireType(wireType, WireType.LengthDelimited);
        const element = reader.bytes();
        // Past its bound the list is refused as a whole: its further elements are not worth reading.
        if (index < boundOf(field).max) walkMessage(field.message, element, `${path}[${index}]`, depth + 1, issues);
        index++;
      } else {
        const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
        const elementWireType = wireTypeOf(scalar);
        if (wireType === WireType.LengthDelimited && elementWireType !== WireType.LengthDelimited) {
          // Packed: one length-delimited run of elements.
          const packed = new BinaryReader(reader.bytes());
          while (packed.pos < packed.len) {
            readScalar(scalar, packed, `${path}[${index++}]`, issues);
            if (packed.pos > packed.len) throw new Malformed("truncated packed field");
          }
        } else {
          expectWireType(wireType, elementWireType);
          readScalar(scalar, reader, `${path}[${index++}]`, issues);
        }
      }
      counts.set(field.number, index);
      return;
    }
    case "map": {
      expectWireType(wireType, WireType.LengthDelimited);
      const entries = counts.get(field.number) ?? 0;
      const entry = reader.bytes();
      if (entries < boundOf(field).max) walkMapEntry(field, entry, path, depth, issues);
      counts.set(field.number, entries + 1);
      return;
    }
  }
}

/** A map entry is a message with the key as field 1 and the value as field 2; its path is `name[key]`. */
function walkMapEntry(
  field: DescField & { fieldKind: "map" },
  bytes: Uint8Array,
  path: string,
  depth: number,
  issues: WireIssue[],
): void {
  const entryPath = `${path}[${mapKeyText(field.mapKey, bytes) ?? "?"}]`;
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === 1) {
      expectWireType(wireType, wireTypeOf(field.mapKey));
      readScalar(field.mapKey, reader, entryPath, issues);
    } else if (number === 2 && field.mapKind === "message") {
      expectWireType(wireType, WireType.LengthDelimited);
      walkMessage(field.message, reader.bytes(), entryPath, depth + 1, issues);
    } else if (number === 2) {
      const scalar = field.mapKind === "scalar" ? field.scalar : ScalarType.INT32;
      expectWireType(wireType, wireTypeOf(scalar));
      readScalar(scalar, reader, entryPath, issues);
    } else {
      reader.skip(wireType, number, MAX_DEPTH - depth);
    }
    if (reader.pos > reader.len) throw new Malformed("truncated map entry");
  }
}

/** The key of a map entry as protovalidate prints it (`"text"`, `42`, `true`), when it can be read. */
function mapKeyText(key: ScalarType, bytes: Uint8Array): string | undefined {
  try {
    const reader = new BinaryReader(bytes);
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      if (number !== 1 || wireType !== wireTypeOf(key)) {
        reader.skip(wireType, number, 0);
        continue;
      }
      if (key === ScalarType.STRING) {
        const text = reader.bytes();
        return isUtf8(text) ? JSON.stringify(Buffer.from(text).toString("utf8").slice(0, 64)) : undefined;
      }
      if (key === ScalarType.BOOL) return String(reader.bool());
      return String(readInteger(key, reader));
    }
  } catch {
    // The walk itself reports what is wrong with the entry.
  }
  return undefined;
}

function readScalar(scalar: ScalarType, reader: BinaryReader, path: string, issues: WireIssue[]): void {
  switch (scalar) {
    case ScalarType.STRING: {
      const text = reader.bytes();
      if (!isUtf8(text))
        issues.push({ field: path, description: "must be valid UTF-8", reason: "INVALID_UTF8", fatal: true });
      else if (text.includes(0))
        issues.push({
          field: path,
          description: "must not contain the NUL character (U+0000)",
          reason: "NUL_CHARACTER",
          fatal: false,
        });
      return;
    }
    case ScalarType.BYTES:
      reader.bytes();
      return;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const value = readInteger(scalar, reader);
      if (value > SAFE_MAX || value < SAFE_MIN)
        issues.push({ field: path, description: INT64_DESCRIPTION, reason: "INT64_OUT_OF_RANGE", fatal: false });
      return;
    }
    case ScalarType.DOUBLE:
      reader.double();
      return;
    case ScalarType.FLOAT:
      reader.float();
      return;
    case ScalarType.FIXED32:
      reader.fixed32();
      return;
    case ScalarType.SFIXED32:
      reader.sfixed32();
      return;
    default:
      // int32, uint32, sint32, bool: a varint of at most 10 bytes.
      reader.uint64();
  }
}

function readInteger(scalar: ScalarType, reader: BinaryReader): bigint {
  switch (scalar) {
    case ScalarType.UINT64:
      return BigInt(reader.uint64());
    case ScalarType.SINT64:
      return BigInt(reader.sint64());
    case ScalarType.FIXED64:
      return BigInt(reader.fixed64());
    case ScalarType.SFIXED64:
      return BigInt(reader.sfixed64());
    case ScalarType.INT64:
      return BigInt(reader.int64());
    default:
      return BigInt(reader.int32());
  }
}

function wireTypeOf(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

/**
 * A known field sent with another wire type. Some runtimes keep it as an unknown field, but the generated decoder
 * would drop it while the validator's decoder misreads it; refusing it keeps both views of a request the same.
 */
function expectWireType(actual: WireType, expected: WireType): void {
  if (actual !== expected) throw new Malformed(`wire type ${actual} where the field has wire type ${expected}`);
}

function describeReadError(error: unknown): string {
  if (error instanceof RangeError && /premature EOF/.test(error.message)) return "truncated";
  if (error instanceof RangeError) return "nested too deep";
  if (error instanceof Error) return error.message.slice(0, 100);
  return "unreadable";
}

type Bound = { readonly max: number; readonly reason: WireIssueReason };
const boundByField = new WeakMap<DescField, Bound>();

/**
 * How many elements (or map entries) the field may have in one message: its `(buf.validate.field).repeated.max_items`
 * or `.map.max_pairs` when its contract sets one, else DEFAULT_MAX_ITEMS; with the reason a refusal gives.
 */
function boundOf(field: DescField): Bound {
  let bound = boundByField.get(field);
  if (!bound) {
    const type = hasOption(field, fieldRules) ? getOption(field, fieldRules).type : undefined;
    if (type?.case === "repeated" && isFieldSet(type.value, RepeatedRulesSchema.field.maxItems))
      bound = { max: Number(type.value.maxItems), reason: "repeated.max_items" };
    else if (type?.case === "map" && isFieldSet(type.value, MapRulesSchema.field.maxPairs))
      bound = { max: Number(type.value.maxPairs), reason: "map.max_pairs" };
    else bound = { max: DEFAULT_MAX_ITEMS, reason: "TOO_MANY_ITEMS" };
    boundByField.set(field, bound);
  }
  return bound;
}

const fieldsByNumber = new WeakMap<DescMessage, ReadonlyMap<number, DescField>>();

function fieldsOf(schema: DescMessage): ReadonlyMap<number, DescField> {
  let fields = fieldsByNumber.get(schema);
  if (!fields) {
    fields = new Map(schema.fields.map((f) => [f.number, f]));
    fieldsByNumber.set(schema, fields);
  }
  return fields;
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}
