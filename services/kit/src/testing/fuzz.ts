import { ScalarType, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { constants as http2, type ClientHttp2Session } from "node:http2";
import { Status } from "../errors/status-codes.js";
import { Contract } from "../validation/contract.js";
import { grpcFrame, rawCall, rawConnection, type RawCallResult } from "./raw-call.js";

/**
 * A bounded fuzzer for gRPC services: for every method of the named services it sends request messages built from
 * the contract (random values, and values chosen to break things: invalid UTF-8, NUL, 64-bit integers past 2^53,
 * huge strings and repeated fields, deep nesting), mutations of valid seed requests, random bytes, oversize
 * messages and random metadata, over raw HTTP/2, and checks every answer's code. Deterministic for a seed: a
 * failure names its seed, and `FUZZ_SEED=<seed>` replays the run.
 */

export interface FuzzOptions {
  /** "host:port" of the server. */
  readonly address: string;
  /** Full names of the services to fuzz, e.g. "lattice.user.v1.UserService". */
  readonly services: readonly string[];
  /** The random seed (printed by the caller); the same seed sends the same inputs. */
  readonly seed: number;
  /** At most this many inputs in all. */
  readonly maxInputs: number;
  /** And stop sending after this long, ms. */
  readonly timeBudgetMs: number;
  /** Valid requests per method path, mutated to reach past validation; optional. */
  readonly seeds?: Readonly<Record<string, readonly Uint8Array[]>>;
  /** The server's largest accepted message; one input per method goes past it. 4 MiB by default. */
  readonly maxMessageBytes?: number;
  /** Called with every answer and the request messages it answered, e.g. to count what was accepted. */
  readonly onResult?: (path: string, result: RawCallResult, requests: readonly Uint8Array[]) => void;
  readonly contract?: Contract;
  /** The deadline every call is sent with (grpc-timeout), ms; 800 by default. */
  readonly deadlineMs?: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly inputs: number;
  /** How many answers had each code. */
  readonly codes: Readonly<Record<string, number>>;
  /** How many inputs went to each method ("/pkg.Service/Method"). */
  readonly perMethod: Readonly<Record<string, number>>;
  /** Inputs answered with a code a client's mistake must never get (INTERNAL, UNKNOWN, no status at all). */
  readonly failures: readonly string[];
}

/** Calls in flight at once on the one HTTP/2 connection. */
const CONCURRENCY = 8;

/**
 * Codes a malformed request may get. INTERNAL and UNKNOWN mean the server failed, not the request; UNAVAILABLE
 * that it could not serve a request it should have.
 */
const ACCEPTABLE = new Set<number>([
  Status.OK,
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.ABORTED,
  Status.OUT_OF_RANGE,
  Status.RESOURCE_EXHAUSTED,
  Status.DEADLINE_EXCEEDED,
  Status.CANCELLED,
]);

/** Runs the fuzzer; resolves with what it sent and saw. Never throws for a bad answer: see `failures`. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const contract = options.contract ?? Contract.lattice();
  const rng = seededRandom(options.seed);
  const methods = options.services.flatMap((name) => {
    const service: DescService | undefined = contract.registry.getService(name);
    if (!service) throw new Error(`${name} is not in the contract`);
    return service.methods.map((m) => ({ path: `/${name}/${m.name}`, input: m.input, streams: m.methodKind }));
  });
  const codes: Record<string, number> = {};
  const perMethod: Record<string, number> = {};
  const failures: string[] = [];
  const deadlineMs = options.deadlineMs ?? 800;
  const deadline = Date.now() + options.timeBudgetMs;
  // The server may close the connection (GOAWAY: its maximum connection age, flood protection). Calls already on it
  // finish there, new ones go to a fresh connection, and a call the server refused without processing it (opened
  // as the GOAWAY came: REFUSED_STREAM) is sent again, once, on the fresh one.
  const dialed = new Set<ClientHttp2Session>();
  const dial = (): ClientHttp2Session => {
    const connection = rawConnection(options.address);
    dialed.add(connection);
    connection.on("goaway", () => {
      if (session === connection) session = dial();
      connection.close();
    });
    return connection;
  };
  let session = dial();
  const count = (key: string) => (codes[key] = (codes[key] ?? 0) + 1);
  let inputs = 0;
  // Inputs are made in order from the one random sequence, so a seed replays them; several are in flight at once.
  const next = () => {
    if (inputs >= options.maxInputs || Date.now() >= deadline) return undefined;
    const method = methods[inputs % methods.length]!;
    const kind = pick(rng, KINDS);
    const messages = makeInputs(kind, method.input, options.seeds?.[method.path] ?? [], rng, options);
    const requestStream = method.streams === "client_streaming" || method.streams === "bidi_streaming";
    const sent = requestStream ? messages : messages.slice(0, 1);
    const body = Buffer.concat(sent.map((m) => grpcFrame(m)));
    const headers = { "grpc-timeout": `${deadlineMs}m`, ...(kind === "metadata" ? randomMetadata(rng) : {}) };
    perMethod[method.path] = (perMethod[method.path] ?? 0) + 1;
    return { method, kind, sent, body, headers, number: ++inputs };
  };
  /** One call; undefined when it got no answer to judge (counted under why). */
  const call = async (
    input: NonNullable<ReturnType<typeof next>>,
    what: string,
  ): Promise<RawCallResult | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const used = session;
      const started = Date.now();
      let result: RawCallResult;
      try {
        result = await rawCall(used, input.method.path, input.body, { headers: input.headers, timeoutMs: 10_000 });
      } catch (error) {
        const text = String(error);
        const unprocessed = /REFUSED_STREAM|GOAWAY|session has been (closed|destroyed)|INVALID_SESSION/i.test(text);
        if (unprocessed && attempt === 1) {
          count("sent again on a new connection");
          continue;
        }
        if (unprocessed || used.destroyed) count("connection closed by the server");
        // One stream refused by flood protection, the connection still up: counted, the others go on.
        else if (/ENHANCE_YOUR_CALM/.test(text)) count("stream refused (ENHANCE_YOUR_CALM)");
        else failures.push(`${what}: ${text}`);
        return undefined;
      }
      if (result.code === undefined && (used.closed || used.destroyed)) {
        // In flight when the server closed the connection and gave up waiting for it: no status can come.
        count("connection closed by the server");
        return undefined;
      }
      if (result.code === undefined && result.rstCode === http2.NGHTTP2_CANCEL && Date.now() - started >= deadlineMs) {
        // A stream whose deadline passed while its trailers were stuck behind data not yet read is reset by the
        // server (see the kit's grpc-js patches): an end, and counted under its own name.
        count("reset after the deadline");
        return undefined;
      }
      return result;
    }
  };
  const worker = async () => {
    for (let input = next(); input; input = next()) {
      const what = `${input.method.path} (${input.kind}, input ${input.number})`;
      const result = await call(input, what);
      if (!result) continue;
      const name = result.code === undefined ? "none" : String(result.code);
      count(name);
      options.onResult?.(input.method.path, result, input.sent);
      if (result.code === undefined || !ACCEPTABLE.has(result.code))
        failures.push(`${what}: code ${name} ${result.message.slice(0, 200)}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    for (const connection of dialed) connection.destroy();
  }
  return { seed: options.seed, inputs, codes, perMethod, failures };
}

const KINDS = [
  "generated",
  "nasty",
  "mutated",
  "mutated",
  "seed",
  "random",
  "deep",
  "huge",
  "oversize",
  "metadata",
] as const;
type Kind = (typeof KINDS)[number];

function makeInputs(
  kind: Kind,
  schema: DescMessage,
  seeds: readonly Uint8Array[],
  rng: () => number,
  options: FuzzOptions,
): Uint8Array[] {
  const count = 1 + Math.floor(rng() * 3);
  const one = (): Uint8Array => {
    switch (kind) {
      case "generated":
      case "metadata":
        return generate(schema, rng, false, 0);
      case "nasty":
        return generate(schema, rng, true, 0);
      case "mutated":
        return mutateBytes(seeds.length > 0 ? pick(rng, seeds) : generate(schema, rng, false, 0), rng);
      case "seed":
        // A valid request as it is, replayed among the bad ones: accepted work runs concurrently with them.
        return seeds.length > 0 ? pick(rng, seeds) : generate(schema, rng, false, 0);
      case "random":
        return randomBytes(rng, Math.floor(rng() * 256));
      case "deep":
        return deepNesting(schema, 50 + Math.floor(rng() * 200), rng);
      case "huge":
        return hugeRepeated(schema, rng);
      case "oversize":
        return new Uint8Array((options.maxMessageBytes ?? 4 * 1024 * 1024) + 1 + Math.floor(rng() * 1024));
    }
  };
  return Array.from({ length: kind === "oversize" || kind === "huge" ? 1 : count }, one);
}

/** A message of `schema` with random fields; `nasty` picks values meant to break decoders and databases. */
function generate(schema: DescMessage, rng: () => number, nasty: boolean, depth: number): Uint8Array {
  const writer = new BinaryWriter();
  for (const field of schema.fields) {
    if (rng() < 0.3) continue;
    const repeats = field.fieldKind === "list" ? Math.floor(rng() * 4) : 1;
    for (let i = 0; i < repeats; i++) writeField(writer, field, rng, nasty, depth);
  }
  if (rng() < 0.1) writer.tag(1000 + Math.floor(rng() * 1000), WireType.LengthDelimited).bytes(randomBytes(rng, 8));
  return writer.finish();
}

function writeField(writer: BinaryWriter, field: DescField, rng: () => number, nasty: boolean, depth: number): void {
  if (field.fieldKind === "map") return;
  if (field.message) {
    if (depth > 4) return;
    writer.tag(field.number, WireType.LengthDelimited).bytes(generate(field.message, rng, nasty, depth + 1));
    return;
  }
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : ScalarType.INT32;
  if (scalar === undefined) return;
  writeScalar(writer, field.number, scalar, rng, nasty);
}

const NASTY_STRINGS: readonly Uint8Array[] = [
  Buffer.from([0x41, 0x64, 0xff, 0xfe]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate, encoded: not UTF-8
  Buffer.from("Ada\u0000Lovelace"),
  Buffer.from("users/\u0000"),
  Buffer.from(" \t\n"),
  Buffer.from("'; DROP TABLE users; --"),
  Buffer.from("😀".repeat(101)),
];

function writeScalar(writer: BinaryWriter, number: number, scalar: ScalarType, rng: () => number, nasty: boolean) {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES: {
      const value =
        nasty && rng() < 0.7
          ? rng() < 0.1
            ? Buffer.alloc(200_000, 0x78)
            : pick(rng, NASTY_STRINGS)
          : Buffer.from(randomText(rng));
      writer.tag(number, WireType.LengthDelimited).bytes(value);
      return;
    }
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64: {
      const value = nasty ? pick(rng, [2n ** 60n, -(2n ** 60n), 2n ** 53n, -(2n ** 63n)]) : BigInt(randomInt(rng));
      if (scalar === ScalarType.SFIXED64) writer.tag(number, WireType.Bit64).sfixed64(value);
      else if (scalar === ScalarType.SINT64) writer.tag(number, WireType.Varint).sint64(value);
      else writer.tag(number, WireType.Varint).int64(value);
      return;
    }
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const value = nasty ? 2n ** 64n - 1n : BigInt(Math.abs(randomInt(rng)));
      if (scalar === ScalarType.FIXED64) writer.tag(number, WireType.Bit64).fixed64(value);
      else writer.tag(number, WireType.Varint).uint64(value);
      return;
    }
    case ScalarType.DOUBLE:
      writer.tag(number, WireType.Bit64).double(nasty ? Number.NaN : rng() * 1e6);
      return;
    case ScalarType.FLOAT:
      writer.tag(number, WireType.Bit32).float(nasty ? Number.POSITIVE_INFINITY : rng());
      return;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      writer.tag(number, WireType.Bit32).fixed32(Math.floor(rng() * 2 ** 32));
      return;
    case ScalarType.BOOL:
      writer.tag(number, WireType.Varint).bool(rng() < 0.5);
      return;
    default:
      writer.tag(number, WireType.Varint).int32(nasty ? pick(rng, [-1, 2 ** 31 - 1, -(2 ** 31)]) : randomInt(rng));
  }
}

/**
 * Bit flips, truncations, insertions, deletions and duplications of a valid request (1 to 4 edits), drawn from
 * `rng`: requests that pass the first checks and break deeper ones.
 */
export function mutateBytes(seed: Uint8Array, rng: () => number): Uint8Array {
  let bytes = Buffer.from(seed);
  const edits = 1 + Math.floor(rng() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rng() * (bytes.length + 1));
    switch (Math.floor(rng() * 5)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)]! ^= 1 << Math.floor(rng() * 8);
        break;
      case 1:
        bytes = bytes.subarray(0, at);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(rng, 1 + Math.floor(rng() * 4)), bytes.subarray(at)]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(rng() * 4))]);
        break;
      default:
        bytes = Buffer.concat([bytes, bytes.subarray(at)]);
    }
  }
  return bytes;
}

/** Messages nested `levels` deep through the first message field (or unknown groups when there is none). */
function deepNesting(schema: DescMessage, levels: number, rng: () => number): Uint8Array {
  const field = schema.fields.find((f) => f.message !== undefined && f.fieldKind !== "map");
  if (!field || rng() < 0.5) {
    const writer = new BinaryWriter();
    for (let i = 0; i < levels; i++) writer.tag(900, WireType.StartGroup);
    for (let i = 0; i < levels; i++) writer.tag(900, WireType.EndGroup);
    return writer.finish();
  }
  // The same field number at every level: past the first, the bytes no longer match the nested type.
  let inner = new Uint8Array();
  for (let i = 0; i < levels; i++)
    inner = new BinaryWriter().tag(field.number, WireType.LengthDelimited).bytes(inner).finish();
  return inner;
}

/**
 * One repeated field with 100,000 to 300,000 elements (a megabyte or so): the request's own, or one in a message
 * field (update_mask.paths), or an unknown field when the request has none.
 */
function hugeRepeated(schema: DescMessage, rng: () => number): Uint8Array {
  const path = pathToList(schema, 3) ?? [];
  const field = path.at(-1);
  const writer = new BinaryWriter();
  const count = 100_000 + Math.floor(rng() * 200_000);
  for (let i = 0; i < count; i++) {
    if (field?.fieldKind !== "list") writer.tag(901, WireType.Varint).int32(i);
    else if (field.listKind === "message") writer.tag(field.number, WireType.LengthDelimited).bytes(new Uint8Array());
    else if (field.listKind === "scalar" && field.scalar === ScalarType.STRING)
      writer.tag(field.number, WireType.LengthDelimited).string(i % 2 ? "email" : "x");
    else writer.tag(field.number, WireType.Varint).int32(i);
  }
  // Wrapped in the message fields leading to the list.
  let bytes = writer.finish();
  for (const parent of path.slice(0, -1).reverse())
    bytes = new BinaryWriter().tag(parent.number, WireType.LengthDelimited).bytes(bytes).finish();
  return bytes;
}

/** The fields from `schema` down to its first repeated field (through message fields, at most `depth` deep). */
function pathToList(schema: DescMessage, depth: number): DescField[] | undefined {
  const list = schema.fields.find((f) => f.fieldKind === "list");
  if (list) return [list];
  if (depth <= 1) return undefined;
  for (const field of schema.fields) {
    if (field.fieldKind !== "message") continue;
    const below = pathToList(field.message, depth - 1);
    if (below) return [field, ...below];
  }
  return undefined;
}

function randomMetadata(rng: () => number): Record<string, string> {
  const headers: Record<string, string> = {};
  const count = 1 + Math.floor(rng() * 5);
  for (let i = 0; i < count; i++) {
    const name = `x-fuzz-${randomToken(rng)}${rng() < 0.3 ? "-bin" : ""}`;
    headers[name] = name.endsWith("-bin")
      ? Buffer.from(randomBytes(rng, Math.floor(rng() * 64))).toString("base64")
      : randomText(rng)
          .replace(/[^\x20-\x7e]/g, "?")
          .slice(0, 200);
  }
  if (rng() < 0.3) headers["x-request-id"] = randomText(rng).replace(/[^\x20-\x7e]/g, "?");
  return headers;
}

function randomText(rng: () => number): string {
  const chars = Array.from("abcdefghijklmnopqrstuvwxyz0123456789-_./@ ÄéЖ字😀");
  let text = "";
  const length = Math.floor(rng() * 40);
  for (let i = 0; i < length; i++) text += pick(rng, chars);
  return text;
}

function randomToken(rng: () => number): string {
  return Math.floor(rng() * 36 ** 6).toString(36);
}

function randomInt(rng: () => number): number {
  const edges = [0, 1, -1, 1000, 1001, 1_000_000, 2 ** 31 - 1, -(2 ** 31)];
  return rng() < 0.5 ? pick(rng, edges) : Math.floor(rng() * 2000) - 500;
}

function randomBytes(rng: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(rng() * 256);
  return bytes;
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** mulberry32: numbers in [0, 1), small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How much a fuzz test sends: FUZZ_INPUTS and FUZZ_TIME_MS when set (for long runs), else the test's defaults. */
export function fuzzBudget(defaults: { inputs: number; timeMs: number }): { maxInputs: number; timeBudgetMs: number } {
  const read = (name: string, fallback: number) => {
    const given = process.env[name];
    if (given === undefined || given === "") return fallback;
    if (!/^\d+$/.test(given) || Number(given) <= 0)
      throw new Error(`${name} must be a positive integer, not "${given}"`);
    return Number(given);
  };
  return { maxInputs: read("FUZZ_INPUTS", defaults.inputs), timeBudgetMs: read("FUZZ_TIME_MS", defaults.timeMs) };
}

/** The seed of a fuzz run: FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function fuzzSeed(): number {
  const given = process.env["FUZZ_SEED"];
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  return Math.floor(Math.random() * 2 ** 31);
}
