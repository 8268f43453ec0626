import { isUtf8 } from "node:buffer";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { boundOf, MAX_DEPTH } from "./wire-check.js";

/**
 * The fast path of the wire checks (wire-check.ts): one pass over a request's bytes, with no reader, no DataView,
 * no path strings and no allocation for a clean message of ASCII strings, that answers only "clean": true when
 * checkWire would find no issue at all. Anything it is not sure of — a malformation, a string that is not UTF-8 or
 * holds NUL, a 64-bit integer beyond ±(2^53 − 1), a list past its bound, an unknown group, a message field sent
 * twice (which the generated decoder replaces where protobuf-es merges) — makes it answer false, and the caller
 * runs checkWire, whose issues (and their wording) are the answer. So it may refuse a clean message (the slow path
 * then finds nothing) but never passes one checkWire would refuse; services/kit/test/validation-fast-path.test.ts
 * checks that on the contracts with generated and mutated messages.
 */

/** How the bytes of one value are read, and what is checked on them. */
const enum Read {
  /** A varint of at most 10 bytes (int32, uint32, sint32, bool, enum). */
  Varint,
  /** Varints of 64-bit integers, whose values must be within ±(2^53 − 1). */
  Int64,
  UInt64,
  SInt64,
  /** 4 bytes. */
  Fixed32,
  /** 8 bytes of a double. */
  Fixed64,
  /** 8 bytes of a fixed64 or sfixed64, whose value must be within ±(2^53 − 1). */
  UFixed64,
  SFixed64,
  /** A length-delimited string: UTF-8 without NUL. */
  String,
  /** Length-delimited bytes. */
  Bytes,
  /** A length-delimited message. */
  Message,
}

const VARINT = 0;
const BIT64 = 1;
const LENGTH_DELIMITED = 2;
const BIT32 = 5;

interface ScanField {
  readonly read: Read;
  /** The wire type of one value (an element, for lists). */
  readonly wireType: number;
  /** Lists and maps: their elements are counted against `bound`. */
  readonly repeated: boolean;
  readonly map: boolean;
  /** Most elements (or map entries) allowed: the contract's max_items / max_pairs, else DEFAULT_MAX_ITEMS. */
  readonly bound: number;
  /** Index of the field's counter (lists and maps) or its bit among the message fields seen (singular messages). */
  readonly slot: number;
  /** The message of a message field, list of messages, or map value. */
  readonly message: DescMessage | undefined;
  /** Map entries: how the key and the value are read. */
  readonly key: ScanField | undefined;
  readonly value: ScanField | undefined;
}

interface ScanPlan {
  /** Fields by number (a sparse array: contract field numbers are small). */
  readonly fields: readonly (ScanField | undefined)[];
  /** Lists and maps, each with a counter. */
  readonly counted: number;
  /** Singular message fields; past 31 the duplicate check cannot use one number's bits, and every scan bails. */
  readonly messages: number;
}

const plans = new WeakMap<DescMessage, ScanPlan>();

/**
 * True when checkWire(schema, bytes) would return no issue; false when it would, or when this scan cannot tell
 * (see above). Never throws.
 */
export function isWireClean(schema: DescMessage, bytes: Uint8Array): boolean {
  return scanMessage(planOf(schema), bytes, 0, bytes.length, 1);
}

function planOf(schema: DescMessage): ScanPlan {
  let plan = plans.get(schema);
  if (!plan) {
    let counted = 0;
    let messages = 0;
    const fields: (ScanField | undefined)[] = [];
    for (const field of schema.fields) {
      const slot = field.fieldKind === "list" || field.fieldKind === "map" ? counted++ : messages;
      if (field.fieldKind === "message") messages++;
      fields[field.number] = scanField(field, slot);
    }
    plan = { fields, counted, messages };
    plans.set(schema, plan);
  }
  return plan;
}

function scanField(field: DescField, slot: number): ScanField {
  const base = { repeated: false, map: false, bound: 0, slot, message: undefined, key: undefined, value: undefined };
  switch (field.fieldKind) {
    case "scalar":
      return { ...base, ...scalarRead(field.scalar) };
    case "enum":
      return { ...base, read: Read.Varint, wireType: VARINT };
    case "message":
      return { ...base, read: Read.Message, wireType: LENGTH_DELIMITED, message: field.message };
    case "list": {
      const element =
        field.listKind === "message"
          ? { read: Read.Message, wireType: LENGTH_DELIMITED, message: field.message }
          : field.listKind === "enum"
            ? { read: Read.Varint, wireType: VARINT }
            : scalarRead(field.scalar);
      return { ...base, ...element, repeated: true, bound: boundOf(field).max };
    }
    case "map": {
      const key = { ...base, ...scalarRead(field.mapKey) };
      const value =
        field.mapKind === "message"
          ? { ...base, read: Read.Message, wireType: LENGTH_DELIMITED, message: field.message }
          : field.mapKind === "enum"
            ? { ...base, read: Read.Varint, wireType: VARINT }
            : { ...base, ...scalarRead(field.scalar) };
      return {
        ...base,
        read: Read.Message,
        wireType: LENGTH_DELIMITED,
        map: true,
        bound: boundOf(field).max,
        key,
        value,
      };
    }
  }
}

function scalarRead(scalar: ScalarType): { read: Read; wireType: number } {
  switch (scalar) {
    case ScalarType.STRING:
      return { read: Read.String, wireType: LENGTH_DELIMITED };
    case ScalarType.BYTES:
      return { read: Read.Bytes, wireType: LENGTH_DELIMITED };
    case ScalarType.INT64:
      return { read: Read.Int64, wireType: VARINT };
    case ScalarType.UINT64:
      return { read: Read.UInt64, wireType: VARINT };
    case ScalarType.SINT64:
      return { read: Read.SInt64, wireType: VARINT };
    case ScalarType.FIXED64:
      return { read: Read.UFixed64, wireType: BIT64 };
    case ScalarType.SFIXED64:
      return { read: Read.SFixed64, wireType: BIT64 };
    case ScalarType.DOUBLE:
      return { read: Read.Fixed64, wireType: BIT64 };
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return { read: Read.Fixed32, wireType: BIT32 };
    default:
      return { read: Read.Varint, wireType: VARINT };
  }
}

// The scan's position in the bytes. One scan runs at a time (it is synchronous), so module state is enough and no
// cursor object is made per request.
let pos = 0;

/** Reads a varint of at most 10 bytes ending before `end`; -1 when it does not (then the scan bails). */
function skipVarint(buf: Uint8Array, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return -1;
    if ((buf[pos++]! & 0x80) === 0) return i + 1;
  }
  return -1;
}

/** Reads a length or tag: a varint below 2^31 of at most 5 bytes; -1 otherwise. */
function readUint31(buf: Uint8Array, end: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return -1;
    const b = buf[pos++]!;
    if (shift === 28 && b > 0x07) return -1;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
  }
  return -1;
}

function scanMessage(plan: ScanPlan, buf: Uint8Array, start: number, end: number, depth: number): boolean {
  if (depth > MAX_DEPTH || plan.messages > 31) return false;
  pos = start;
  const counts = plan.counted > 0 ? new Uint32Array(plan.counted) : undefined;
  let seen = 0;
  while (pos < end) {
    const tag = readUint31(buf, end);
    if (tag < 8) return false; // field number 0, or no tag at all
    const wireType = tag & 7;
    const field = plan.fields[tag >>> 3];
    if (field === undefined) {
      if (!skipUnknown(buf, end, wireType)) return false;
      continue;
    }
    if (field.map) {
      if (wireType !== LENGTH_DELIMITED || ++counts![field.slot]! > field.bound) return false;
      if (!scanMapEntry(field, buf, end, depth)) return false;
      continue;
    }
    if (field.repeated) {
      if (wireType === LENGTH_DELIMITED && field.wireType !== LENGTH_DELIMITED) {
        // Packed: one length-delimited run of elements.
        const length = readUint31(buf, end);
        if (length < 0 || pos + length > end) return false;
        const runEnd = pos + length;
        let count = counts![field.slot]!;
        while (pos < runEnd) {
          if (++count > field.bound || !scanValue(field, buf, runEnd, depth)) return false;
        }
        counts![field.slot] = count;
        continue;
      }
      if (wireType !== field.wireType || ++counts![field.slot]! > field.bound) return false;
    } else if (wireType !== field.wireType) {
      return false;
    } else if (field.read === Read.Message) {
      const bit = 1 << field.slot;
      if ((seen & bit) !== 0) return false; // sent twice: merged by protobuf-es, replaced by the generated decoder
      seen |= bit;
    }
    if (!scanValue(field, buf, end, depth)) return false;
  }
  return pos === end;
}

/** One value of `field` at `pos`, wire type already checked. */
function scanValue(field: ScanField, buf: Uint8Array, end: number, depth: number): boolean {
  switch (field.read) {
    case Read.Varint:
      return skipVarint(buf, end) > 0;
    case Read.Int64:
    case Read.UInt64:
    case Read.SInt64: {
      const start = pos;
      const length = skipVarint(buf, end);
      // Up to 7 bytes hold at most 49 bits: within range whatever the type. Longer ones are read in full.
      return length > 0 && (length <= 7 || isSafeVarint(buf, start, field.read));
    }
    case Read.Fixed32:
      pos += 4;
      return pos <= end;
    case Read.Fixed64:
      pos += 8;
      return pos <= end;
    case Read.UFixed64:
    case Read.SFixed64: {
      pos += 8;
      if (pos > end) return false;
      const lo = buf[pos - 8]! | (buf[pos - 7]! << 8) | (buf[pos - 6]! << 16) | (buf[pos - 5]! << 24);
      const hi = buf[pos - 4]! | (buf[pos - 3]! << 8) | (buf[pos - 2]! << 16) | (buf[pos - 1]! << 24);
      return field.read === Read.UFixed64 ? hi >>> 0 <= 0x1fffff : isSafeInt64(lo, hi);
    }
    case Read.String:
    case Read.Bytes:
    case Read.Message: {
      const length = readUint31(buf, end);
      if (length < 0 || pos + length > end) return false;
      const valueStart = pos;
      const valueEnd = pos + length;
      if (field.read === Read.String) {
        if (!isCleanText(buf, valueStart, valueEnd)) return false;
      } else if (field.read === Read.Message) {
        if (!scanMessage(planOf(field.message!), buf, valueStart, valueEnd, depth + 1)) return false;
      }
      pos = valueEnd;
      return true;
    }
  }
}

/** A map entry at `pos` (its length not yet read): key 1 and value 2, each at most once, nothing else. */
function scanMapEntry(field: ScanField, buf: Uint8Array, end: number, depth: number): boolean {
  const length = readUint31(buf, end);
  if (length < 0 || pos + length > end) return false;
  const entryEnd = pos + length;
  let seen = 0;
  while (pos < entryEnd) {
    const tag = readUint31(buf, entryEnd);
    const part = tag === ((1 << 3) | field.key!.wireType) ? 1 : tag === ((2 << 3) | field.value!.wireType) ? 2 : 0;
    if (part === 0 || (seen & part) !== 0) return false;
    seen |= part;
    if (!scanValue(part === 1 ? field.key! : field.value!, buf, entryEnd, depth)) return false;
  }
  return pos === entryEnd;
}

/**
 * Whether the varint at `start` (already found complete) of a 64-bit integer type is within ±(2^53 − 1): its two
 * 32-bit halves as protobuf-es's varint64read assembles them, then the type's sign (two's complement, unsigned,
 * zigzag).
 */
function isSafeVarint(buf: Uint8Array, start: number, read: Read): boolean {
  let lo = 0;
  let at = start;
  for (let shift = 0; shift < 28; shift += 7) lo |= (buf[at++]! & 0x7f) << shift;
  const middle = buf[at++]!;
  lo |= (middle & 0x0f) << 28;
  let hi = (middle & 0x70) >> 4;
  for (let shift = 3; at < pos; shift += 7) hi |= (buf[at++]! & 0x7f) << shift;
  if (read === Read.UInt64) return hi >>> 0 <= 0x1fffff;
  if (read === Read.SInt64) {
    const sign = -(lo & 1);
    const l = ((lo >>> 1) | ((hi & 1) << 31)) ^ sign;
    hi = (hi >>> 1) ^ sign;
    lo = l;
  }
  return isSafeInt64(lo, hi);
}

/** Whether the two's complement 64-bit integer of halves `lo` and `hi` is within ±(2^53 − 1). */
function isSafeInt64(lo: number, hi: number): boolean {
  const high = hi | 0;
  if (high < -0x200000 || high > 0x1fffff) return false;
  return Number.isSafeInteger(high * 4294967296 + (lo >>> 0));
}

/** An unknown field's value: skipped as checkWire skips it; groups (rare, and recursive) are left to checkWire. */
function skipUnknown(buf: Uint8Array, end: number, wireType: number): boolean {
  switch (wireType) {
    case VARINT:
      return skipVarint(buf, end) > 0;
    case BIT64:
      pos += 8;
      return pos <= end;
    case BIT32:
      pos += 4;
      return pos <= end;
    case LENGTH_DELIMITED: {
      const length = readUint31(buf, end);
      if (length < 0 || pos + length > end) return false;
      pos += length;
      return true;
    }
    default:
      return false;
  }
}

/** Strings up to this many bytes are checked byte by byte; longer ones with Node's native UTF-8 check. */
const SHORT_TEXT = 64;

/** Valid UTF-8 with no NUL byte (NUL is only ever the byte 0 in UTF-8). */
function isCleanText(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start > SHORT_TEXT) {
    const text = buf.subarray(start, end);
    return text.indexOf(0) < 0 && isUtf8(text);
  }
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 0) return false;
    high |= b;
  }
  return high < 0x80 || isUtf8(buf.subarray(start, end));
}
