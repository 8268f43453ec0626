import { protoInt64 } from "@bufbuild/protobuf";

/**
 * The protobuf binary writer the generated messages encode with (`X.encode(message).finish()`): the API and the
 * bytes of @bufbuild/protobuf's BinaryWriter (ts-proto generates code against that API), made for Node.
 *
 * - Messages are written into one scratch buffer the process keeps, so encoding a message allocates nothing but
 *   the result: @bufbuild/protobuf's writer allocates and zeroes a new 128-byte ArrayBuffer per message, doubles
 *   it as it fills and copies the result out.
 * - Strings go into the buffer directly: short ASCII ones byte by byte, others through Node's native UTF-8
 *   encoder (Buffer#write), without the TextEncoder round trip.
 * - 64-bit integers given as safe JavaScript numbers (ts-proto's forceLong=number) are split into two 32-bit halves
 *   with arithmetic instead of going through BigInt.
 *
 * Values are checked as @bufbuild/protobuf checks them, with the same errors: an int32 that is not an integer in
 * range, a float32 out of range, a 64-bit integer that BigInt cannot take (e.g. 1.5) all throw.
 *
 * The scratch buffer belongs to one writer at a time: the newest. A writer still in use when a newer one is made
 * (two encodings interleaved, or one that threw half way) first gets its bytes copied into a buffer of its own, so
 * every writer stays correct however writers are mixed; the usual encode-then-finish never copies.
 */
export class BinaryWriter {
  private buf: Buffer;
  private pos = 0;
  /** Positions of the open fork() calls, innermost last. */
  private readonly forks: number[] = [];

  constructor() {
    const owner = scratch.owner;
    if (owner !== undefined) owner.detach();
    scratch.owner = this;
    this.buf = scratch.buffer;
  }

  /** Returns the bytes written (a Buffer of their own) and resets this writer. */
  finish(): Buffer {
    const length = this.pos;
    let result: Buffer;
    if (scratch.owner === this) {
      result = Buffer.allocUnsafe(length);
      this.buf.copy(result, 0, 0, length);
      scratch.owner = undefined;
      if (this.buf.length <= SCRATCH_MAX_BYTES) scratch.buffer = this.buf;
    } else {
      result = this.buf.subarray(0, length);
    }
    // A writer reused after finish() writes into a buffer of its own (not the scratch, which another may own).
    this.buf = EMPTY;
    this.pos = 0;
    this.forks.length = 0;
    return result;
  }

  /** Starts a length-delimited value (a message or a packed field); end it with join(). */
  fork(): this {
    this.forks.push(this.pos);
    // One byte is reserved for the length, enough for up to 127 bytes; join() widens it when the value is longer.
    this.reserve(1);
    this.pos++;
    return this;
  }

  /** Ends the last fork(): writes its length before its bytes. */
  join(): this {
    const start = this.forks.pop();
    if (start === undefined) throw new Error("invalid state, fork stack empty");
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return this;
    }
    const prefix = varint32Size(length);
    this.reserve(prefix - 1);
    this.buf.copyWithin(start + prefix, start + 1, this.pos);
    const end = this.pos + prefix - 1;
    this.pos = start;
    this.writeVarint32(length);
    this.pos = end;
    return this;
  }

  /** Writes a tag (field number and wire type). */
  tag(fieldNo: number, type: number): this {
    return this.uint32(((fieldNo << 3) | type) >>> 0);
  }

  /** Writes raw bytes. */
  raw(chunk: Uint8Array): this {
    this.reserve(chunk.length);
    this.buf.set(chunk, this.pos);
    this.pos += chunk.length;
    return this;
  }

  /** Writes a uint32 varint. */
  uint32(value: number): this {
    if (typeof value !== "number" || value >>> 0 !== value) value = checkUInt32(value);
    this.reserve(5);
    this.writeVarint32(value);
    return this;
  }

  /** Writes an int32 varint (negative values take 10 bytes, as sign-extended 64-bit values). */
  int32(value: number): this {
    if (typeof value !== "number" || (value | 0) !== value) value = checkInt32(value);
    if (value >= 0) {
      this.reserve(5);
      this.writeVarint32(value);
      return this;
    }
    return this.writeVarint64(value >>> 0, 0xffffffff);
  }

  /** Writes a sint32 (zigzag) varint. */
  sint32(value: number): this {
    if (typeof value !== "number" || (value | 0) !== value) value = checkInt32(value);
    return this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes a bool varint. */
  bool(value: boolean): this {
    this.reserve(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  /** Writes length-delimited bytes. */
  bytes(value: Uint8Array): this {
    this.uint32(value.byteLength);
    return this.raw(value);
  }

  /** Writes a length-delimited UTF-8 string (lone surrogates become U+FFFD, as with TextEncoder). */
  string(value: string): this {
    if (typeof value !== "string") value = String(value);
    const length = value.length;
    this.reserve(5 + length * 3);
    const buf = this.buf;
    const start = this.pos;
    if (length <= ASCII_LOOP) {
      // Short ASCII byte by byte: cheaper than a call into the native encoder.
      let at = start + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[at++] = code;
      }
      if (i === length) {
        buf[start] = length;
        this.pos = at;
        return this;
      }
    }
    // Node's native encoder writes straight into the buffer; the length before the bytes is known only after, so
    // room is left for the length the text would have in ASCII, and the bytes are moved when that was wrong.
    const guess = length <= SHORT_STRING ? 1 : varint32Size(length);
    const written = buf.write(value, start + guess, "utf8");
    const prefix = varint32Size(written);
    if (prefix !== guess) buf.copyWithin(start + prefix, start + guess, start + guess + written);
    this.writeVarint32(written);
    this.pos += written;
    return this;
  }

  /** Writes a float (32-bit, little-endian). */
  float(value: number): this {
    value = checkFloat32(value);
    this.reserve(4);
    this.pos = this.buf.writeFloatLE(value, this.pos);
    return this;
  }

  /** Writes a double (64-bit, little-endian). */
  double(value: number): this {
    this.reserve(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
    return this;
  }

  /** Writes a fixed32 (unsigned, little-endian). */
  fixed32(value: number): this {
    if (typeof value !== "number" || value >>> 0 !== value) value = checkUInt32(value);
    this.reserve(4);
    this.pos = this.buf.writeUInt32LE(value, this.pos);
    return this;
  }

  /** Writes a sfixed32 (signed, little-endian). */
  sfixed32(value: number): this {
    if (typeof value !== "number" || (value | 0) !== value) value = checkInt32(value);
    this.reserve(4);
    this.pos = this.buf.writeInt32LE(value, this.pos);
    return this;
  }

  /** Writes a sfixed64 (signed, little-endian); a bigint, a number or a decimal string. */
  sfixed64(value: bigint | number | string): this {
    return this.writeFixed64(int64Halves(value));
  }

  /** Writes a fixed64 (unsigned, little-endian); a bigint, a number or a decimal string. */
  fixed64(value: bigint | number | string): this {
    return this.writeFixed64(uint64Halves(value));
  }

  /** Writes an int64 varint; a bigint, a number or a decimal string. */
  int64(value: bigint | number | string): this {
    const { lo, hi } = int64Halves(value);
    return this.writeVarint64(lo, hi);
  }

  /** Writes a sint64 (zigzag) varint; a bigint, a number or a decimal string. */
  sint64(value: bigint | number | string): this {
    const { lo, hi } = int64Halves(value);
    const sign = hi >> 31;
    return this.writeVarint64(((lo << 1) ^ sign) >>> 0, (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0);
  }

  /** Writes a uint64 varint; a bigint, a number or a decimal string. */
  uint64(value: bigint | number | string): this {
    const { lo, hi } = uint64Halves(value);
    return this.writeVarint64(lo, hi);
  }

  /** Makes room for `size` more bytes. */
  private reserve(size: number): void {
    const needed = this.pos + size;
    if (needed <= this.buf.length) return;
    let capacity = Math.max(this.buf.length * 2, INITIAL_BYTES);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Gives this writer a buffer of its own with what it wrote so far: a newer writer takes the scratch buffer. */
  private detach(): void {
    const own = Buffer.allocUnsafe(Math.max(this.pos * 2, INITIAL_BYTES));
    this.buf.copy(own, 0, 0, this.pos);
    if (this.buf.length <= SCRATCH_MAX_BYTES) scratch.buffer = this.buf;
    this.buf = own;
  }

  /** A uint32 varint; room for it must have been reserved. */
  private writeVarint32(value: number): void {
    const buf = this.buf;
    let at = this.pos;
    while (value > 0x7f) {
      buf[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[at++] = value;
    this.pos = at;
  }

  /** A 64-bit varint from its unsigned 32-bit halves. */
  private writeVarint64(lo: number, hi: number): this {
    this.reserve(10);
    const buf = this.buf;
    let at = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      buf[at++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[at++] = lo;
    this.pos = at;
    return this;
  }

  private writeFixed64({ lo, hi }: Halves): this {
    this.reserve(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
    return this;
  }
}

/** Capacity of the first buffer a writer allocates for itself. */
const INITIAL_BYTES = 256;
/** A scratch buffer that grew past this is not kept for the next message. */
const SCRATCH_MAX_BYTES = 1024 * 1024;
/** Strings up to this many UTF-16 units take a one-byte length whatever they contain (3 × 42 < 128). */
const SHORT_STRING = 42;
/** Strings up to this many UTF-16 units are copied byte by byte when they are ASCII. */
const ASCII_LOOP = 16;
const EMPTY = Buffer.alloc(0);
const TWO_32 = 0x1_0000_0000;

/** The process's scratch buffer, and the writer that writes into it now. */
const scratch: { buffer: Buffer; owner: BinaryWriter | undefined } = {
  buffer: Buffer.allocUnsafe(16 * 1024),
  owner: undefined,
};

/** A 64-bit integer as two unsigned 32-bit halves (two's complement). */
interface Halves {
  lo: number;
  hi: number;
}

function int64Halves(value: bigint | number | string): Halves {
  if (typeof value === "number" && Number.isSafeInteger(value)) return numberHalves(value);
  // BigInt, strings, and numbers that are not safe integers: @bufbuild/protobuf's conversion, and its errors.
  return unsigned(protoInt64.enc(value));
}

function uint64Halves(value: bigint | number | string): Halves {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return numberHalves(value);
  return unsigned(protoInt64.uEnc(value));
}

function numberHalves(value: number): Halves {
  const hi = Math.floor(value / TWO_32);
  return { lo: (value - hi * TWO_32) >>> 0, hi: hi >>> 0 };
}

function unsigned({ lo, hi }: { lo: number; hi: number }): Halves {
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

function varint32Size(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

// The checks of @bufbuild/protobuf's writer, for values that are not already plain numbers in range: a numeric
// string is taken for its number, anything else throws the same error.

function numeric(value: unknown, type: string): number {
  if (typeof value === "string") return Number(value);
  if (typeof value !== "number") throw new Error(`invalid ${type}: ${typeof value}`);
  return value;
}

function checkUInt32(value: unknown): number {
  const n = numeric(value, "uint32");
  if (!Number.isInteger(n) || n > 0xffffffff || n < 0) throw new Error(`invalid uint32: ${String(value)}`);
  return n;
}

function checkInt32(value: unknown): number {
  const n = numeric(value, "int32");
  if (!Number.isInteger(n) || n > 0x7fffffff || n < -0x80000000) throw new Error(`invalid int32: ${String(value)}`);
  return n;
}

function checkFloat32(value: unknown): number {
  if (typeof value === "string") {
    const n = Number(value);
    if (Number.isNaN(n) && value !== "NaN") throw new Error(`invalid float32: ${value}`);
    value = n;
  } else if (typeof value !== "number") {
    throw new Error(`invalid float32: ${typeof value}`);
  }
  const n = value as number;
  // NaN and the infinities are valid; a finite value too large for a float32 is not.
  if (!Number.isFinite(Math.fround(n)) && Number.isFinite(n)) throw new Error(`invalid float32: ${n}`);
  return n;
}
