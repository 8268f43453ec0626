/**
 * Messages for the differential tests of the validation fast path (validation-fast-path.test.ts,
 * compiled-rules.test.ts): values in one neutral form, turned into a protobuf-es message (what protovalidate
 * judges) and its wire bytes (what the generated ts-proto decoder reads, whose object the compiled rules check),
 * with candidate values around each field's rules and a search for valid examples that asks protovalidate itself.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  create,
  getOption,
  hasOption,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { Contract, ValidationError, type FieldViolation } from "@lattice/kit";
import { keepRequestBytes, type RequestValidator } from "@lattice/kit/internal";

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/support → the package, then the checkout.
const packageDir = join(here, "..", "..", "..");
const root = join(packageDir, "..", "..");

/** The kit's test contract (test/proto), built with the workspace's buf beside the vendored validate.proto. */
export function testContract(): Contract {
  const work = mkdtempSync(join(tmpdir(), "kit-contracts-"));
  try {
    cpSync(join(packageDir, "test", "proto"), work, { recursive: true });
    mkdirSync(join(work, "buf"));
    cpSync(join(root, "proto", "buf", "validate"), join(work, "buf", "validate"), { recursive: true });
    const out = join(work, "set.binpb");
    execFileSync(join(root, "node_modules", ".bin", "buf"), ["build", work, "--exclude-source-info", "-o", out], {
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 60_000,
    });
    return Contract.fromDescriptorSet(readFileSync(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A field's value in neutral form: strings, booleans and numbers as themselves (64-bit integers too, kept within
 * ±2^49), enums as numbers, a Duration as {seconds, nanos}, a FieldMask as its paths, a message as a Neutral,
 * a list as an array; undefined for an absent message or optional field.
 */
export type Value = string | number | boolean | Duration | string[] | Neutral | Value[] | undefined;
export type Neutral = { [field: string]: Value };
interface Duration {
  readonly seconds: number;
  readonly nanos: number;
}

const DURATION = "google.protobuf.Duration";
const FIELD_MASK = "google.protobuf.FieldMask";
const INT64 = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

/** The protobuf-es message of `value`. */
export function toEs(schema: DescMessage, value: Neutral): Message {
  const init: MessageInitShape<DescMessage> = esInit(schema, value);
  return create(schema, init);
}

function esInit(schema: DescMessage, value: Neutral): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    const v = value[field.name];
    if (v === undefined) continue;
    init[field.localName] =
      field.fieldKind === "list" ? (v as Value[]).map((e) => esValue(field, e)) : esValue(field, v);
  }
  return init;
}

function esValue(field: DescField, v: Value): unknown {
  if (field.message?.typeName === DURATION) {
    const d = v as Duration;
    return { seconds: BigInt(d.seconds), nanos: d.nanos };
  }
  if (field.message?.typeName === FIELD_MASK) return { paths: v };
  if (field.message) return esInit(field.message, v as Neutral);
  if (field.scalar !== undefined && INT64.has(field.scalar)) return BigInt(v as number);
  return v;
}

/** Decodes request bytes as a request type's ts-proto code does: the object a handler of that type gets. */
export type GeneratedDecoder = (bytes: Uint8Array) => unknown;

/**
 * The ts-proto decoders of the test contract, generated as `npm run generate` generates the contracts' (the options
 * of proto/buf.gen.yaml), by type name ("lattice.kittest.v1.Rules"). The code is generated into dist/ and loaded
 * with Node's TypeScript type stripping, which cannot run TypeScript enums: enums are generated as object
 * literals (`enumsAsLiterals`), which changes their declaration, not their values or the decoding.
 */
export async function testDecoders(): Promise<ReadonlyMap<string, GeneratedDecoder>> {
  const options = readFileSync(join(root, "proto", "buf.gen.yaml"), "utf8")
    .split("\n")
    .map((line) => /^\s+- ([A-Za-z]+=\S+)$/.exec(line)?.[1])
    .filter((opt): opt is string => opt !== undefined && !/^(outputServices|importSuffix)=/.test(opt));
  if (!options.includes("forceLong=number")) throw new Error("proto/buf.gen.yaml: ts-proto options not found");
  const distTest = join(packageDir, "dist", "test");
  // Under the package, so the generated code's imports (@bufbuild/protobuf/wire) resolve to the workspace's.
  const work = mkdtempSync(join(distTest, "kittest-gen-"));
  try {
    cpSync(join(packageDir, "test", "proto"), work, { recursive: true });
    mkdirSync(join(work, "buf"));
    cpSync(join(root, "proto", "buf", "validate"), join(work, "buf", "validate"), { recursive: true });
    const plugin = join(root, "node_modules", ".bin", "protoc-gen-ts_proto");
    const template = {
      version: "v2",
      plugins: [
        {
          local: plugin,
          out: "out",
          include_imports: true,
          include_wkt: true,
          opt: [...options, "importSuffix=.ts", "enumsAsLiterals=true"],
        },
      ],
    };
    execFileSync(
      join(root, "node_modules", ".bin", "buf"),
      ["generate", "--template", JSON.stringify(template), "--path", "lattice"],
      { cwd: work, stdio: ["ignore", "ignore", "inherit"], timeout: 60_000 },
    );
    const module = (await import(pathToFileURL(join(work, "out", "lattice", "kittest", "v1", "rules.ts")).href)) as {
      readonly protobufPackage: string;
    } & Readonly<Record<string, unknown>>;
    const decoders = new Map<string, GeneratedDecoder>();
    for (const [name, value] of Object.entries(module)) {
      const decode = (value as { decode?: unknown } | undefined)?.decode;
      if (typeof decode === "function")
        decoders.set(`${module.protobufPackage}.${name.replace(/_/g, ".")}`, (bytes) =>
          (decode as (bytes: Uint8Array) => unknown).call(value, bytes),
        );
    }
    return decoders;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `decode` wrapped as the kit wraps a service's decoders (keepRequestBytes), so the message it returns keeps its
 * bytes and RequestValidator.check reads them, as on a server.
 */
export function keepingBytes(decode: GeneratedDecoder): (bytes: Buffer) => unknown {
  const unused = () => Buffer.alloc(0);
  return keepRequestBytes({
    method: {
      path: "/test.Service/Method",
      requestStream: false,
      responseStream: false,
      requestSerialize: unused,
      requestDeserialize: (bytes: Buffer) => decode(bytes),
      responseSerialize: unused,
      responseDeserialize: unused,
    },
  }).method.requestDeserialize;
}

/**
 * What RequestValidator.check does with `request`, as a server's validation would answer: the violations of the
 * ValidationError it throws (INVALID_ARGUMENT with a BadRequest of these), or [] when it lets the request through.
 * Anything else it throws is rethrown: a test failure (INTERNAL on a server).
 */
export function checkOutcome(validator: RequestValidator, request: unknown): readonly FieldViolation[] {
  try {
    validator.check(request);
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return error.violations;
    throw error;
  }
}

/** The wire bytes of `value` as a protobuf-es message of `schema`. */
export function encode(schema: DescMessage, value: Neutral): Buffer {
  return Buffer.from(toBinary(schema, toEs(schema, value)));
}

/** protovalidate's judgement of `value`: its violations as "path: rule id", or "error: …" when it could not judge. */
export function judge(validator: Validator, schema: DescMessage, value: Neutral): string[] {
  const result = validator.validate(schema, toEs(schema, value));
  if (result.kind === "valid") return [];
  if (result.kind === "error") return [`error: ${result.error.message}`];
  return result.violations.map((v) => `${pathToString(v.field)}: ${v.ruleId}`);
}

export function protovalidate(contract: Contract): Validator {
  return createValidator({ registry: contract.registry });
}

/** The fuzzer's seeded generator: the same sequence for the same seed everywhere. */
export { seededRandom as seeded } from "@lattice/kit/testing";

export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

const UUID = "0b8f2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
/** Strings around the contracts' rules (resource names, codes, emails, blanks, lengths) and the test contract's. */
const STRINGS: readonly string[] = [
  ...["", " ", "  ", "\t\n", "\u3000", "\u00a0x\u00a0", "\u200b", "a", "ab", "abc", "abcd", "abcde", "abcdef"],
  ...[
    "k",
    "kk",
    "x",
    "xx",
    "x-ab",
    "xx-abc",
    "abmyz",
    "abmqyz",
    "abyz",
    "mxyz",
    "abmx",
    "a-12",
    "a-",
    "é",
    "éé",
    "😀",
    "😀😀",
  ],
  ...["😀😀😀", "Ada", " Ada ", "Ada Lovelace", "ada@example.com", "a.b+c@ex-ample.co", "ada@", "@x.io"],
  ...["ada@exa_mple.com", "ada@-x.io", "a@b", "Ada@Example.COM", UUID, UUID.toUpperCase(), UUID.replace(/-/g, "")],
  ...[
    `g${UUID.slice(1)}`,
    UUID.replace("a5b", "a5g"),
    `g${UUID.replace(/-/g, "").slice(1)}`,
    `users/g${UUID.slice(1)}`,
  ],
  ...[`users/${UUID}`, `users/${UUID.toUpperCase()}`, "users/", "users/abc", `orders/${UUID}`, "orders/ord_1-A"],
  ...[`orders/${"a".repeat(65)}`, `payments/${UUID}`, `payment/${UUID}`, "EUR", "eur", "EU", "EURO", "E1R"],
  ...["book-1", "a.b_c-d", "a b", "a".repeat(64), "a".repeat(65), "key-1", "k".repeat(128), "k".repeat(129)],
  ...["email", "display_name", "name", "b", "b.c", "b.c.d", "secret", "secret.x", "a".repeat(101), "😀".repeat(100)],
  ...[`${"a".repeat(245)}@x.io`, `${"a".repeat(250)}@x.io`],
];
const INTS: readonly number[] = [
  0,
  1,
  -1,
  2,
  3,
  5,
  7,
  8,
  9,
  10,
  11,
  100,
  1000,
  1_000_000,
  1_000_001,
  2 ** 31 - 1,
  -(2 ** 31),
];
const DOUBLES: readonly number[] = [0, -0, 0.5, 1, -1, 2, -2, 1e-300, Number.NaN, Infinity, -Infinity];
const FLOATS: readonly number[] = [0, 1.5, -1.5, Number.NaN, Infinity, -Infinity, 3.4028234663852886e38];
const DURATIONS: readonly Duration[] = [
  ...[
    { seconds: 0, nanos: 0 },
    { seconds: 1, nanos: 0 },
    { seconds: 0, nanos: 500_000_000 },
  ],
  ...[
    { seconds: 4, nanos: 999_999_999 },
    { seconds: 5, nanos: 0 },
    { seconds: 10, nanos: 0 },
    { seconds: 10, nanos: 1 },
  ],
  ...[
    { seconds: -1, nanos: 0 },
    { seconds: 0, nanos: -1 },
  ],
];
/** Durations protobuf does not allow: what the compiled rules make of them need not match protovalidate. */
const ABNORMAL_DURATIONS: readonly Duration[] = [
  { seconds: 1, nanos: -1 },
  { seconds: 315_576_000_001, nanos: 0 },
];
const PATHS: readonly string[][] = [
  [],
  ["a"],
  ["ab"],
  ["b.c"],
  ["b.cd"],
  ["b.c.d"],
  ["b"],
  ["secret"],
  ["secret.x"],
  ["secretx"],
  ["a", "z"],
];
const MASKS: readonly string[][] = [...PATHS, ["email"], ["display_name"], ["email", "display_name"], ["name"]];

/** Whether `value` holds a Duration protobuf does not allow (see ABNORMAL_DURATIONS). */
export function hasAbnormalDuration(value: Value): boolean {
  if (Array.isArray(value)) return (value as Value[]).some(hasAbnormalDuration);
  if (typeof value !== "object") return false;
  if (ABNORMAL_DURATIONS.includes(value as Duration)) return true;
  return Object.values(value).some(hasAbnormalDuration);
}

/** Candidate values of one field: the pools of its type, and values at its rules' bounds. */
function candidates(field: DescField, rng: () => number, depth: number): Value[] {
  const element = elementCandidates(field, rng, depth);
  if (field.fieldKind !== "list")
    return field.message || field.proto.proto3Optional ? [undefined, ...element] : element;
  // The empty list, lists of one and of two of the first candidates (a message's valid example first, then small
  // numbers), and random lists.
  const [a, b, c] = element;
  const firsts = [a, b, c].filter((e) => e !== undefined);
  const lists: Value[] = [
    [],
    ...firsts.map((e) => [e]),
    ...[
      [a, b],
      [b, c],
      [a, c],
    ].filter((l) => !l.includes(undefined)),
  ];
  for (let i = 0; i < 12; i++) {
    const length = 1 + Math.floor(rng() * 4);
    lists.push(Array.from({ length }, () => pick(rng, element)));
  }
  return lists;
}

function elementCandidates(field: DescField, rng: () => number, depth: number): Value[] {
  if (field.message?.typeName === DURATION) return [...DURATIONS, ...ABNORMAL_DURATIONS];
  if (field.message?.typeName === FIELD_MASK) return [...MASKS];
  if (field.message)
    return depth > 3 ? [] : [validExample(field.message, rng, depth + 1), arbitrary(field.message, rng, depth + 1)];
  if (field.enum) return [...field.enum.values.map((v) => v.number), 3, 42, -1];
  const bounds = ruleNumbers(field);
  switch (field.scalar) {
    case ScalarType.STRING:
      return [
        ...STRINGS,
        ...bounds.flatMap((n) => (n >= 0 && n < 300 ? ["a", "é", "😀"].map((c) => c.repeat(n)) : [])),
      ];
    case ScalarType.BOOL:
      return [true, false];
    case ScalarType.DOUBLE:
      return [...DOUBLES, ...bounds];
    case ScalarType.FLOAT:
      return [...FLOATS, ...bounds];
    case ScalarType.BYTES:
      return [];
    default: {
      const scalar = field.scalar;
      const unsigned = [ScalarType.UINT32, ScalarType.UINT64, ScalarType.FIXED32, ScalarType.FIXED64].includes(scalar);
      const wide = INT64.has(scalar);
      return [...INTS, ...bounds].filter(
        (n) => Number.isInteger(n) && (!unsigned || n >= 0) && (wide ? Math.abs(n) < 2 ** 49 : Math.abs(n) < 2 ** 31),
      );
    }
  }
}

/** The numbers a field's rules name (bounds, lengths, in and const values), each with its neighbours. */
function ruleNumbers(field: DescField): number[] {
  if (!hasOption(field, fieldRules)) return [];
  const rules = getOption(field, fieldRules);
  const type = rules.type.case === "repeated" ? rules.type.value.items?.type : rules.type;
  const numbers: number[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === "number" || typeof value === "bigint") numbers.push(Number(value));
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object")
      for (const [key, inner] of Object.entries(value)) if (!key.startsWith("$")) visit(inner);
  };
  visit(type?.value);
  return numbers.flatMap((n) => [n - 1, n, n + 1]);
}

/** A message of `schema` with every field picked at random from its candidates. */
export function arbitrary(schema: DescMessage, rng: () => number, depth = 0): Neutral {
  const value: Neutral = {};
  for (const field of schema.fields) {
    if (field.fieldKind === "map") continue;
    const options = candidates(field, rng, depth);
    if (options.length > 0) value[field.name] = pick(rng, options);
  }
  return value;
}

// Valid examples are searched with a validator of their own: protovalidate adds each schema it meets to its registry.
const exampleValidator = createValidator();

/**
 * A message of `schema` that protovalidate accepts, as far as the candidates allow: field by field, the first
 * candidate (in a random order) that leaves no violation under that field.
 */
export function validExample(schema: DescMessage, rng: () => number, depth = 0): Neutral {
  const value: Neutral = {};
  for (const field of schema.fields) {
    if (field.fieldKind === "map") continue;
    const under = (v: string) => [":", ".", "["].some((c) => v.startsWith(`${field.name}${c}`));
    for (const option of shuffle(candidates(field, rng, depth), rng)) {
      value[field.name] = option;
      if (hasAbnormalDuration(option)) continue;
      const violations = judge(exampleValidator, schema, value);
      if (!violations.some((v) => v.startsWith("error") || under(v))) break;
    }
  }
  return value;
}

function shuffle<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `base` with one field replaced, for every field and every candidate of it. */
export function* singleFieldVariants(schema: DescMessage, base: Neutral, rng: () => number): Generator<Neutral> {
  for (const field of schema.fields) {
    if (field.fieldKind === "map") continue;
    for (const option of candidates(field, rng, 1)) yield { ...base, [field.name]: option };
  }
}

/** `base` with `count` of its fields replaced by candidates picked at random. */
export function mutated(schema: DescMessage, base: Neutral, rng: () => number, count: number): Neutral {
  const value: Neutral = { ...base };
  const fields = schema.fields.filter((f) => f.fieldKind !== "map");
  for (let i = 0; i < count && fields.length > 0; i++) {
    const field = pick(rng, fields);
    const options = candidates(field, rng, 1);
    if (options.length > 0) value[field.name] = pick(rng, options);
  }
  return value;
}
