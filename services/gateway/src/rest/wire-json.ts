import {
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
} from "@bufbuild/protobuf";
import { Edition, FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";

/**
 * The proto3 JSON of a message, read straight from its wire bytes: what @bufbuild/protobuf's
 * `toJson(schema, fromBinary(schema, bytes), { alwaysEmitImplicit: true })` returns, without building the reflective
 * message in between (the gateway only ever writes a backend's answer out as JSON). Fields in field-number order;
 * implicit-presence fields with their zero value when absent, repeated fields as [] and maps as {}; 64-bit integers
 * as decimal strings, enums by name (a number this contract does not name as that number), bytes as standard
 * base64, NaN and the infinities as strings, Timestamp as RFC 3339 and Duration as "<seconds>s", both formatted as
 * @bufbuild/protobuf formats them.
 *
 * It reads what a protobuf encoder writes. Anything else — bytes that do not parse, a wire type a field does not
 * have, a message field sent twice (to be merged), invalid UTF-8, a Timestamp or Duration out of range, nesting
 * past 100 levels — makes it give up (WireJsonUnsupported), and the caller falls back to @bufbuild/protobuf, which
 * decides as it always did (its errors included). Messages it does not cover at all (files other than proto3, the
 * well-known types with their own JSON but for Timestamp and Duration, a field named "__proto__") are reported by
 * `wireJsonReader` returning undefined.
 */
export type WireJsonReader = (bytes: Uint8Array) => JsonObject;

/** Thrown when the bytes are not the common case; the caller falls back to @bufbuild/protobuf. */
export class WireJsonUnsupported extends Error {
  override readonly name = "WireJsonUnsupported";
}

/** The reader for `schema`, or undefined when the message (or one it contains) is outside what it covers. */
export function wireJsonReader(schema: DescMessage): WireJsonReader | undefined {
  // A Timestamp or Duration on its own (not as a field) is left to @bufbuild/protobuf.
  if (messageKind(schema) !== Kind.Message) return undefined;
  const plan = planOf(schema, new Map());
  if (!plan || !covered(plan, new Set())) return undefined;
  return (bytes) => {
    const cursor = new Cursor(bytes);
    const json = readMessage(plan, cursor, bytes.length, 0);
    if (cursor.pos !== bytes.length) throw unsupported();
    return json;
  };
}

// What a field's values are, on the wire and in JSON.
const enum Kind {
  Int32,
  Uint32,
  Sint32,
  Fixed32,
  Sfixed32,
  Int64,
  Uint64,
  Sint64,
  Fixed64,
  Sfixed64,
  Bool,
  Float,
  Double,
  String,
  Bytes,
  Enum,
  Message,
  Timestamp,
  Duration,
}

// How a field holds its values.
const enum Shape {
  /** Singular, implicit presence: written with its zero value when absent. */
  Implicit,
  /** Singular with presence (messages, proto3 optional, oneof members): written only when present. */
  Explicit,
  List,
  Map,
}

interface FieldPlan {
  readonly jsonName: string;
  readonly shape: Shape;
  /** Kind of the value (of the items of a list, of the values of a map). */
  readonly kind: Kind;
  /** Kind of a map's keys. */
  readonly keyKind: Kind;
  /** Index of the oneof the field is a member of, or -1. */
  readonly oneof: number;
  /** The JSON of the zero value (Implicit fields). */
  readonly zero: JsonValue;
  readonly enumNames: ReadonlyMap<number, string> | undefined;
  /** The message of Message values, resolved after planning (messages may contain themselves). */
  message: MessagePlan | undefined;
  readonly messageDesc: DescMessage | undefined;
}

interface MessagePlan {
  /** In field-number order: the order fields are written in. */
  readonly fields: readonly FieldPlan[];
  /** Field index by field number. */
  readonly byNumber: FieldIndex;
  readonly oneofs: number;
  readonly supported: boolean;
}

const WKT_OWN_JSON = new Set([
  "google.protobuf.Any",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

function planOf(desc: DescMessage, plans: Map<DescMessage, MessagePlan>): MessagePlan | undefined {
  const known = plans.get(desc);
  if (known) return known;
  const supported = desc.file.edition === Edition.EDITION_PROTO3 && !WKT_OWN_JSON.has(desc.typeName);
  const sorted = [...desc.fields].sort((a, b) => a.number - b.number);
  const oneofs = desc.oneofs;
  const fields = sorted.map((field) => fieldPlan(field, oneofs.indexOf(field.oneof!)));
  const plan: MessagePlan = {
    fields,
    byNumber: fieldIndex(sorted),
    oneofs: oneofs.length,
    supported: supported && fields.every((f) => f.jsonName !== "__proto__"),
  };
  plans.set(desc, plan);
  for (const field of fields) if (field.messageDesc) field.message = planOf(field.messageDesc, plans);
  return plan;
}

/** Field index by field number: an array while the numbers are small, a Map past that. */
interface FieldIndex {
  get(number: number): number | undefined;
}

function fieldIndex(sorted: readonly DescField[]): FieldIndex {
  const largest = sorted.at(-1)?.number ?? 0;
  if (largest > 1024) return new Map(sorted.map((field, i) => [field.number, i]));
  const byNumber = new Array<number | undefined>(largest + 1).fill(undefined);
  sorted.forEach((field, i) => (byNumber[field.number] = i));
  return { get: (number) => byNumber[number] };
}

/** Whether the message and every message it can contain are covered. */
function covered(plan: MessagePlan, seen: Set<MessagePlan>): boolean {
  if (seen.has(plan)) return true;
  seen.add(plan);
  if (!plan.supported) return false;
  return plan.fields.every((f) => f.kind !== Kind.Message || (f.message !== undefined && covered(f.message, seen)));
}

function fieldPlan(field: DescField, oneof: number): FieldPlan {
  let shape: Shape;
  let kind: Kind;
  let keyKind = Kind.String;
  let enumDesc: DescEnum | undefined;
  let messageDesc: DescMessage | undefined;
  switch (field.fieldKind) {
    case "scalar":
      shape = field.oneof || field.presence !== IMPLICIT ? Shape.Explicit : Shape.Implicit;
      kind = scalarKind(field.scalar);
      break;
    case "enum":
      shape = field.oneof || field.presence !== IMPLICIT ? Shape.Explicit : Shape.Implicit;
      kind = Kind.Enum;
      enumDesc = field.enum;
      break;
    case "message":
      shape = Shape.Explicit;
      kind = messageKind(field.message);
      messageDesc = kind === Kind.Message ? field.message : undefined;
      break;
    case "list":
      shape = Shape.List;
      ({ kind, enumDesc, messageDesc } = elementPlan(field.listKind, field.scalar, field.enum, field.message));
      break;
    case "map":
      shape = Shape.Map;
      keyKind = scalarKind(field.mapKey);
      ({ kind, enumDesc, messageDesc } = elementPlan(field.mapKind, field.scalar, field.enum, field.message));
      break;
  }
  const enumNames = enumDesc && new Map(enumDesc.values.map((v) => [v.number, v.jsonName]));
  return {
    jsonName: field.jsonName,
    shape,
    kind,
    keyKind,
    oneof,
    zero: zeroJson(kind, enumDesc),
    enumNames,
    message: undefined,
    messageDesc,
  };
}

const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;

/** The kind of a list's elements or a map's values, with their enum or message (a message kept only as Kind.Message). */
function elementPlan(
  valueKind: "scalar" | "enum" | "message",
  scalar: ScalarType | undefined,
  enumDesc: DescEnum | undefined,
  message: DescMessage | undefined,
): { kind: Kind; enumDesc: DescEnum | undefined; messageDesc: DescMessage | undefined } {
  if (valueKind === "scalar") return { kind: scalarKind(scalar!), enumDesc: undefined, messageDesc: undefined };
  if (valueKind === "enum") return { kind: Kind.Enum, enumDesc, messageDesc: undefined };
  const kind = messageKind(message!);
  return { kind, enumDesc: undefined, messageDesc: kind === Kind.Message ? message : undefined };
}

function messageKind(desc: DescMessage): Kind {
  if (desc.typeName === "google.protobuf.Timestamp") return Kind.Timestamp;
  if (desc.typeName === "google.protobuf.Duration") return Kind.Duration;
  return Kind.Message;
}

function scalarKind(scalar: ScalarType): Kind {
  switch (scalar) {
    case ScalarType.INT32:
      return Kind.Int32;
    case ScalarType.UINT32:
      return Kind.Uint32;
    case ScalarType.SINT32:
      return Kind.Sint32;
    case ScalarType.FIXED32:
      return Kind.Fixed32;
    case ScalarType.SFIXED32:
      return Kind.Sfixed32;
    case ScalarType.INT64:
      return Kind.Int64;
    case ScalarType.UINT64:
      return Kind.Uint64;
    case ScalarType.SINT64:
      return Kind.Sint64;
    case ScalarType.FIXED64:
      return Kind.Fixed64;
    case ScalarType.SFIXED64:
      return Kind.Sfixed64;
    case ScalarType.BOOL:
      return Kind.Bool;
    case ScalarType.FLOAT:
      return Kind.Float;
    case ScalarType.DOUBLE:
      return Kind.Double;
    case ScalarType.STRING:
      return Kind.String;
    case ScalarType.BYTES:
      return Kind.Bytes;
  }
}

function zeroJson(kind: Kind, enumDesc: DescEnum | undefined): JsonValue {
  switch (kind) {
    case Kind.Bool:
      return false;
    case Kind.String:
    case Kind.Bytes:
      return "";
    case Kind.Int64:
    case Kind.Uint64:
    case Kind.Sint64:
    case Kind.Fixed64:
    case Kind.Sfixed64:
      return "0";
    case Kind.Enum: {
      const first = enumDesc!.values[0]!;
      return enumDesc!.typeName === "google.protobuf.NullValue" ? null : first.jsonName;
    }
    default:
      return 0;
  }
}

/** The wire type each kind is written with (lists of numbers may also come packed: LengthDelimited). */
function wireTypeOf(kind: Kind): number {
  switch (kind) {
    case Kind.Fixed32:
    case Kind.Sfixed32:
    case Kind.Float:
      return 5;
    case Kind.Fixed64:
    case Kind.Sfixed64:
    case Kind.Double:
      return 1;
    case Kind.String:
    case Kind.Bytes:
    case Kind.Message:
    case Kind.Timestamp:
    case Kind.Duration:
      return 2;
    default:
      return 0;
  }
}

function unsupported(): WireJsonUnsupported {
  return new WireJsonUnsupported("not the common case: decode with @bufbuild/protobuf");
}

const MAX_DEPTH = 100;

/** Node's Buffer#utf8Slice (what toString("utf8", start, end) calls, without its argument handling). */
const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === "function"
    ? (buf, start, end) => (buf as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice(start, end)
    : (buf, start, end) => buf.toString("utf8", start, end);
const TWO_32 = 0x1_0000_0000;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Position in the bytes, and the halves of the last 64-bit varint read. */
class Cursor {
  pos = 0;
  lo = 0;
  hi = 0;
  readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A varint of up to 64 bits into lo and hi. */
  varint(end: number): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let byte: number;
    let shift = 0;
    do {
      if (pos >= end) throw unsupported();
      byte = buf[pos++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else if (shift < 64) hi |= (byte & 0x7f) << (shift - 32);
      else throw unsupported();
      shift += 7;
    } while (byte & 0x80);
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A field's tag: a varint of at most 5 bytes that fits 32 bits, with a field number (as protobuf readers check). */
  tag(end: number): number {
    const start = this.pos;
    this.varint(end);
    if (this.hi !== 0 || this.pos - start > 5 || this.lo >>> 3 === 0) throw unsupported();
    return this.lo;
  }

  /** A length-delimited value's end, checked against `end`. */
  delimited(end: number): number {
    this.varint(end);
    if (this.hi !== 0) throw unsupported();
    const stop = this.pos + this.lo;
    if (stop > end) throw unsupported();
    return stop;
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case 0:
        this.varint(end);
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimited(end);
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        // groups (and anything else) are left to @bufbuild/protobuf
        throw unsupported();
    }
    if (this.pos > end) throw unsupported();
  }
}

function readMessage(plan: MessagePlan, cursor: Cursor, end: number, depth: number): JsonObject {
  if (depth >= MAX_DEPTH) throw unsupported();
  const fields = plan.fields;
  const values: (JsonValue | undefined)[] = new Array<JsonValue | undefined>(fields.length);
  const oneofCase: number[] | undefined = plan.oneofs > 0 ? new Array<number>(plan.oneofs).fill(-1) : undefined;
  while (cursor.pos < end) {
    const tag = cursor.tag(end);
    const number = tag >>> 3;
    const wireType = tag & 7;
    const index = plan.byNumber.get(number);
    if (index === undefined) {
      cursor.skip(wireType, end);
      continue;
    }
    const field = fields[index]!;
    const expected = wireTypeOf(field.kind);
    switch (field.shape) {
      case Shape.List: {
        const list = (values[index] ??= []) as JsonValue[];
        if (wireType === expected) list.push(readValue(field, field.kind, cursor, end, depth));
        else if (wireType === 2 && expected !== 2) {
          const stop = cursor.delimited(end);
          while (cursor.pos < stop) list.push(readValue(field, field.kind, cursor, stop, depth));
          if (cursor.pos !== stop) throw unsupported();
        } else throw unsupported();
        break;
      }
      case Shape.Map: {
        if (wireType !== 2) throw unsupported();
        readMapEntry(field, cursor, cursor.delimited(end), (values[index] ??= {}) as JsonObject, depth);
        break;
      }
      default: {
        if (wireType !== expected) throw unsupported();
        // A message sent twice is merged, field by field: left to @bufbuild/protobuf.
        if (field.kind >= Kind.Message && values[index] !== undefined) throw unsupported();
        values[index] = readValue(field, field.kind, cursor, end, depth);
        if (field.oneof >= 0) oneofCase![field.oneof] = index;
      }
    }
  }
  if (cursor.pos !== end) throw unsupported();
  const json: JsonObject = {};
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = values[i];
    if (value !== undefined) {
      if (field.oneof < 0 || oneofCase![field.oneof] === i) json[field.jsonName] = value;
    } else if (field.shape === Shape.Implicit) json[field.jsonName] = field.zero;
    else if (field.shape === Shape.List) json[field.jsonName] = [];
    else if (field.shape === Shape.Map) json[field.jsonName] = {};
  }
  return json;
}

function readMapEntry(field: FieldPlan, cursor: Cursor, end: number, into: JsonObject, depth: number): void {
  let key: string | undefined;
  let value: JsonValue | undefined;
  const keyWireType = wireTypeOf(field.keyKind);
  const valueWireType = wireTypeOf(field.kind);
  while (cursor.pos < end) {
    const tag = cursor.tag(end);
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (number === 1) {
      if (wireType !== keyWireType) throw unsupported();
      key = keyText(readValue(field, field.keyKind, cursor, end, depth));
    } else if (number === 2) {
      if (wireType !== valueWireType) throw unsupported();
      if (field.kind >= Kind.Message && value !== undefined) throw unsupported();
      value = readValue(field, field.kind, cursor, end, depth);
    } else cursor.skip(wireType, end);
  }
  if (cursor.pos !== end) throw unsupported();
  key ??= field.keyKind === Kind.Bool ? "false" : field.keyKind === Kind.String ? "" : "0";
  if (key === "__proto__") throw unsupported();
  if (value === undefined) {
    if (field.kind === Kind.Message) value = readMessage(field.message!, cursor, cursor.pos, depth + 1);
    else if (field.kind === Kind.Timestamp) value = timestampJson(0, 0, 0);
    else if (field.kind === Kind.Duration) value = durationJson(0, 0, 0);
    else value = field.zero;
  }
  into[key] = value;
}

/** A map key (a string, number or boolean) as the JSON object key it becomes. */
function keyText(value: JsonValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw unsupported();
}

function readValue(field: FieldPlan, kind: Kind, cursor: Cursor, end: number, depth: number): JsonValue {
  switch (kind) {
    case Kind.Int32:
      cursor.varint(end);
      return cursor.lo | 0;
    case Kind.Uint32:
      cursor.varint(end);
      return cursor.lo;
    case Kind.Sint32: {
      cursor.varint(end);
      const n = cursor.lo;
      return (n >>> 1) ^ -(n & 1);
    }
    case Kind.Enum: {
      cursor.varint(end);
      const n = cursor.lo | 0;
      if (field.zero === null) return null; // google.protobuf.NullValue
      return field.enumNames!.get(n) ?? n;
    }
    case Kind.Bool:
      cursor.varint(end);
      return cursor.lo !== 0 || cursor.hi !== 0;
    case Kind.Int64:
      cursor.varint(end);
      return int64String(cursor.lo, cursor.hi, true);
    case Kind.Uint64:
      cursor.varint(end);
      return int64String(cursor.lo, cursor.hi, false);
    case Kind.Sint64: {
      cursor.varint(end);
      const { lo, hi } = cursor;
      const sign = -(lo & 1);
      return int64String((((lo >>> 1) | (hi << 31)) ^ sign) >>> 0, ((hi >>> 1) ^ sign) >>> 0, true);
    }
    case Kind.Fixed32:
      return cursor.buf.readUInt32LE(advance(cursor, 4, end));
    case Kind.Sfixed32:
      return cursor.buf.readInt32LE(advance(cursor, 4, end));
    case Kind.Fixed64: {
      const at = advance(cursor, 8, end);
      return int64String(cursor.buf.readUInt32LE(at), cursor.buf.readUInt32LE(at + 4), false);
    }
    case Kind.Sfixed64: {
      const at = advance(cursor, 8, end);
      return int64String(cursor.buf.readUInt32LE(at), cursor.buf.readUInt32LE(at + 4), true);
    }
    case Kind.Float:
      return numberJson(cursor.buf.readFloatLE(advance(cursor, 4, end)));
    case Kind.Double:
      return numberJson(cursor.buf.readDoubleLE(advance(cursor, 8, end)));
    case Kind.String: {
      const stop = cursor.delimited(end);
      const text = utf8Slice(cursor.buf, cursor.pos, stop);
      // Node replaces invalid UTF-8 with U+FFFD; @bufbuild/protobuf refuses it. A real U+FFFD passes this check.
      if (text.includes("\uFFFD")) {
        try {
          utf8.decode(cursor.buf.subarray(cursor.pos, stop));
        } catch {
          throw unsupported();
        }
      }
      cursor.pos = stop;
      return text;
    }
    case Kind.Bytes: {
      const stop = cursor.delimited(end);
      const text = cursor.buf.toString("base64", cursor.pos, stop);
      cursor.pos = stop;
      return text;
    }
    case Kind.Message: {
      const stop = cursor.delimited(end);
      const json = readMessage(field.message!, cursor, stop, depth + 1);
      return json;
    }
    case Kind.Timestamp:
    case Kind.Duration: {
      const stop = cursor.delimited(end);
      let lo = 0;
      let hi = 0;
      let nanos = 0;
      while (cursor.pos < stop) {
        const tag = cursor.tag(stop);
        if (tag === 8) {
          cursor.varint(stop);
          lo = cursor.lo;
          hi = cursor.hi;
        } else if (tag === 16) {
          cursor.varint(stop);
          nanos = cursor.lo | 0;
        } else if (tag >>> 3 === 1 || tag >>> 3 === 2) throw unsupported();
        else cursor.skip(tag & 7, stop);
      }
      if (cursor.pos !== stop) throw unsupported();
      return kind === Kind.Timestamp ? timestampJson(lo, hi, nanos) : durationJson(lo, hi, nanos);
    }
  }
}

function advance(cursor: Cursor, size: number, end: number): number {
  const at = cursor.pos;
  if (at + size > end) throw unsupported();
  cursor.pos = at + size;
  return at;
}

function numberJson(value: number): JsonValue {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value;
}

/** The decimal text of a 64-bit integer from its unsigned 32-bit halves. */
function int64String(lo: number, hi: number, signed: boolean): string {
  if (hi === 0) return String(lo);
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  const value = (BigInt(hi) << 32n) | BigInt(lo);
  return String(signed ? BigInt.asIntN(64, value) : value);
}

/** A signed 64-bit integer from its halves as a number, when it is a safe integer; undefined otherwise. */
function safeInt64(lo: number, hi: number): number | undefined {
  if (hi < 0x200000) return hi * TWO_32 + lo;
  if (hi >= 0xffe00000) return (hi - TWO_32) * TWO_32 + lo;
  return undefined;
}

const TIMESTAMP_SECONDS_MIN = -62135596800; // 0001-01-01T00:00:00Z
const TIMESTAMP_SECONDS_MAX = 253402300799; // 9999-12-31T23:59:59Z
const DURATION_SECONDS_MAX = 315576000000;

/** As @bufbuild/protobuf's timestampToJson: RFC 3339 in UTC, with 0, 3, 6 or 9 digits of fraction. */
function timestampJson(lo: number, hi: number, nanos: number): string {
  const seconds = safeInt64(lo, hi);
  if (seconds === undefined || seconds < TIMESTAMP_SECONDS_MIN || seconds > TIMESTAMP_SECONDS_MAX) throw unsupported();
  if (nanos < 0 || nanos > 999_999_999) throw unsupported();
  return `${utcDateTime(seconds)}${fraction(nanos)}Z`;
}

/** As @bufbuild/protobuf's durationToJson: "<seconds>[.<fraction>]s". */
function durationJson(lo: number, hi: number, nanos: number): string {
  const seconds = safeInt64(lo, hi);
  if (seconds === undefined || seconds > DURATION_SECONDS_MAX || seconds < -DURATION_SECONDS_MAX) throw unsupported();
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) throw unsupported();
  if (nanos > 999_999_999 || nanos < -999_999_999) throw unsupported();
  let text = String(seconds);
  if (nanos !== 0) {
    text += fraction(Math.abs(nanos));
    if (nanos < 0 && seconds === 0) text = "-" + text;
  }
  return text + "s";
}

/** ".123", ".123456" or ".123456789" (the shortest of the three that is exact); "" for 0. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const digits = String(nanos + 1_000_000_000).slice(1);
  if (digits.endsWith("000000")) return "." + digits.slice(0, 3);
  if (digits.endsWith("000")) return "." + digits.slice(0, 6);
  return "." + digits;
}

/** "YYYY-MM-DDTHH:MM:SS" of seconds since the epoch, UTC (years 1 to 9999), as Date#toISOString writes it. */
function utcDateTime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const inDay = seconds - days * 86_400;
  let date = dates.get(days);
  if (date === undefined) {
    date = civilDate(days);
    if (dates.size >= DATES_KEPT) dates.clear();
    dates.set(days, date);
  }
  const minutes = Math.floor(inDay / 60);
  return date + TWO_DIGITS[Math.floor(minutes / 60)]! + ":" + TWO_DIGITS[minutes % 60]! + ":" + TWO_DIGITS[inDay % 60]!;
}

/** "YYYY-MM-DDT" of days since 1970-01-01 (Howard Hinnant's civil_from_days). */
function civilDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, "0")}-${TWO_DIGITS[month]!}-${TWO_DIGITS[day]!}T`;
}

/** Dates of the days seen lately (answers tend to carry timestamps of a few days); cleared when full. */
const dates = new Map<number, string>();
const DATES_KEPT = 4096;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, "0"));
