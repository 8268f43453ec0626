import {
  getOption,
  hasOption,
  isFieldSet,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, type Duration } from "@bufbuild/protobuf/wkt";
import {
  BoolRulesSchema,
  DurationRulesSchema,
  EnumRulesSchema,
  field as fieldRulesOption,
  FieldMaskRulesSchema,
  FieldRulesSchema,
  Ignore,
  message as messageRulesOption,
  MessageRulesSchema,
  RepeatedRulesSchema,
  StringRulesSchema,
  type BoolRules,
  type DurationRules,
  type EnumRules,
  type FieldMaskRules,
  type FieldRules,
  type RepeatedRules,
  type StringRules,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { celIdiom, type IdiomTarget } from "./cel-idioms.js";
import { re2SubsetRegExp } from "./re2-subset.js";
import { isUnwrappedByTsProto, tsProtoProperty } from "./ts-proto-shape.js";

/**
 * A request's contract rules (protovalidate's `buf.validate` options) compiled into one function over the message
 * the generated decoder made — the object the handler gets — so a valid request is neither decoded a second time
 * nor walked by protovalidate's interpreter.
 *
 * The function answers only "valid": true when protovalidate, given the same bytes, would find no violation. It
 * does not describe violations: when it answers false the validator asks protovalidate, whose violations (ids,
 * wording, order) are the answer, so every error answer is protovalidate's as before. What it needs to be right is
 * that it never answers true for a request protovalidate refuses. services/kit/test/compiled-rules.test.ts checks
 * that against protovalidate for every rule kind it compiles (a test contract, decoded by ts-proto code generated
 * with the contracts' options), and validation-fast-path.test.ts for every request type of the contracts; both
 * with generated, mutated and random requests from a seed (VALIDATION_SEED replays another).
 *
 * Compiled: `required`; string const, lengths (code points and bytes), pattern, prefix, suffix, contains, in,
 * not_in, email, uuid, tuuid; every numeric type's const, ranges, in, not_in, finite; bool const; enum const,
 * defined_only, in, not_in; repeated min_items, max_items, unique (strings, integers, bools, enums), items; duration
 * const, ranges, in, not_in; field_mask const, in, not_in; nested messages; and the CEL expressions of
 * cel-idioms.ts. Anything else — another CEL expression, a rule on bytes, maps, wrappers or timestamps, message-level
 * rules, oneofs, `ignore`, predefined rule extensions, proto2 presence — makes the compiler give up on the whole
 * request type, which then goes to protovalidate as before.
 */
export type CompiledRules = (message: unknown) => boolean;

/** `schema`'s rules as one check of its ts-proto messages, or undefined when a rule is not one it compiles. */
export function compileRules(schema: DescMessage): CompiledRules | undefined {
  try {
    return new Compiler().message(schema) ?? isObject;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** A rule the compiler does not take; the request type is left to protovalidate. */
class Unsupported extends Error {}

type Check = (value: unknown) => boolean;

const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;
const LEGACY_REQUIRED = FeatureSet_FieldPresence.LEGACY_REQUIRED;

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

/** One check doing every one of `checks`; undefined when there is none. */
function every(checks: readonly Check[]): Check | undefined {
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (value) => {
    for (const check of checks) if (!check(value)) return false;
    return true;
  };
}

/** Refuses rules that set a field other than `allowed` (by local name), or carry extensions (predefined rules). */
function onlySet(rules: Message, schema: DescMessage, allowed: readonly string[]): void {
  if ((rules.$unknown?.length ?? 0) > 0) throw new Unsupported("predefined rules");
  for (const f of schema.fields)
    if (isFieldSet(rules, f) && !allowed.includes(f.localName)) throw new Unsupported(`${schema.typeName}.${f.name}`);
}

/** The rule type (FieldRules.type) that fits a scalar, as protovalidate names its cases. */
const RULES_CASE: Readonly<Record<ScalarType, string>> = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64",
};

/** What ts-proto holds a scalar as (forceLong=number: 64-bit integers too are numbers). */
function jsTypeOf(scalar: ScalarType): "string" | "boolean" | "number" {
  switch (scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.BYTES:
      throw new Unsupported("bytes");
    default:
      return "number";
  }
}

/** A scalar or enum value: what kind it is, for the value rules. */
type Singular =
  | { readonly kind: "scalar"; readonly scalar: ScalarType }
  | { readonly kind: "enum"; readonly values: readonly number[] };

class Compiler {
  /** Message checks compiled so far; null for a message whose fields need no check. */
  private readonly done = new Map<DescMessage, Check | null>();
  /** Messages being compiled (a recursive type meets itself): their check is looked up when it runs. */
  private readonly pending = new Set<DescMessage>();

  message(schema: DescMessage): Check | undefined {
    const known = this.done.get(schema);
    if (known !== undefined) return known ?? undefined;
    if (this.pending.has(schema)) {
      return (value) => (this.done.get(schema) ?? isObject)(value);
    }
    if (schema.oneofs.length > 0) throw new Unsupported("oneof");
    if (hasOption(schema, messageRulesOption)) onlySet(getOption(schema, messageRulesOption), MessageRulesSchema, []);
    this.pending.add(schema);
    const fields = schema.fields.map((f) => this.field(f)).filter((c): c is Check => c !== undefined);
    this.pending.delete(schema);
    const fieldsCheck = every(fields);
    const check: Check | null = fieldsCheck ? (value) => isObject(value) && fieldsCheck(value) : null;
    this.done.set(schema, check);
    return check ?? undefined;
  }

  /** The check of one field on its message (an object), or undefined when it has no rule to check. */
  private field(field: DescField): Check | undefined {
    // Group-encoded (delimited) messages never pass the wire scan, which expects them length-delimited.
    if (field.presence === LEGACY_REQUIRED) throw new Unsupported("proto2 required");
    // A closed enum's unknown values are unknown fields to protobuf-es but values to the generated code.
    if (field.enum && !field.enum.open) throw new Unsupported("closed enum");
    const rules = hasOption(field, fieldRulesOption) ? getOption(field, fieldRulesOption) : undefined;
    if (rules) {
      const types = FieldRulesSchema.fields.filter((f) => f.oneof?.name === "type").map((f) => f.localName);
      onlySet(rules, FieldRulesSchema, ["cel", "required", "ignore", ...types]);
      if (rules.ignore !== Ignore.UNSPECIFIED) throw new Unsupported("ignore");
    }
    const name = tsProtoProperty(field);
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        return this.singularField(field, rules, name);
      case "message":
        return this.messageField(field, rules, name);
      case "list":
        return this.listField(field, rules, name);
      case "map":
        // No contract bounds map entries by their content yet; maps without rules (or rules below them) are free.
        if (rules || (field.mapKind === "message" && this.message(field.message))) throw new Unsupported("map rules");
        return undefined;
    }
  }

  private singularField(
    field: DescField & { fieldKind: "scalar" | "enum" },
    rules: FieldRules | undefined,
    name: string,
  ): Check | undefined {
    const singular: Singular =
      field.fieldKind === "enum"
        ? { kind: "enum", values: field.enum.values.map((v) => v.number) }
        : { kind: "scalar", scalar: field.scalar };
    const valueCheck = rules ? this.valueRules(singular, rules) : undefined;
    const required = rules?.required ?? false;
    if (!valueCheck && !required) return undefined;
    const jsType = singular.kind === "enum" ? "number" : jsTypeOf(singular.scalar);
    if (field.presence !== IMPLICIT) {
      return (message) => {
        const m = message as Record<string, unknown>;
        if (!(name in m)) return false;
        const value = m[name];
        if (value === undefined) return !required;
        return typeof value === jsType && (valueCheck === undefined || valueCheck(value));
      };
    }
    // Implicit presence: "set" is "not the zero value" (protobuf-es isScalarZeroValue; an enum's first value).
    const isZero = zeroTest(singular);
    return (message) => {
      const value = (message as Record<string, unknown>)[name];
      if (typeof value !== jsType) return false;
      if (required && isZero(value)) return false;
      return valueCheck === undefined || valueCheck(value);
    };
  }

  private messageField(
    field: DescField & { fieldKind: "message" },
    rules: FieldRules | undefined,
    name: string,
  ): Check | undefined {
    const checks: Check[] = [];
    const unwrapped = isUnwrappedByTsProto(field.message);
    const fieldMask = field.message.typeName === "google.protobuf.FieldMask";
    if (rules) {
      checks.push(...this.celRules(rules, fieldMask ? "fieldMask" : undefined));
      const type = rules.type;
      if (type.case === "duration" && field.message.typeName === "google.protobuf.Duration")
        checks.push(durationRules(type.value));
      else if (type.case === "fieldMask" && fieldMask) checks.push(fieldMaskRules(type.value));
      else if (type.case !== undefined) throw new Unsupported(`${type.case} rules on ${field.message.typeName}`);
    }
    const nested = this.message(field.message);
    if (nested) {
      if (unwrapped) throw new Unsupported(`rules inside ${field.message.typeName}`);
      checks.push(nested);
    }
    const valueCheck = every(checks);
    const required = rules?.required ?? false;
    if (!valueCheck && !required) return undefined;
    return (message) => {
      const m = message as Record<string, unknown>;
      if (!(name in m)) return false;
      const value = m[name];
      if (value === undefined) return !required;
      return value !== null && typeof value === "object" && (valueCheck === undefined || valueCheck(value));
    };
  }

  private listField(
    field: DescField & { fieldKind: "list" },
    rules: FieldRules | undefined,
    name: string,
  ): Check | undefined {
    const checks: Check[] = [];
    let itemRules: FieldRules | undefined;
    if (rules) {
      if (rules.cel.length > 0) throw new Unsupported("CEL on a list");
      const type = rules.type;
      if (type.case === "repeated") {
        checks.push(...this.repeatedRules(field, type.value));
        itemRules = type.value.items;
      } else if (type.case !== undefined) {
        throw new Unsupported(`${type.case} rules on a list`);
      }
    }
    const element = this.element(field, itemRules);
    if (element)
      checks.push((list) => {
        for (const item of list as unknown[]) if (!element(item)) return false;
        return true;
      });
    const valueCheck = every(checks);
    const required = rules?.required ?? false;
    if (!valueCheck && !required) return undefined;
    return (message) => {
      const list = (message as Record<string, unknown>)[name];
      if (!Array.isArray(list)) return false;
      if (required && list.length === 0) return false;
      return valueCheck === undefined || valueCheck(list);
    };
  }

  /** RepeatedRules but `items`: counts and uniqueness of the list. */
  private repeatedRules(field: DescField & { fieldKind: "list" }, rules: RepeatedRules): Check[] {
    onlySet(rules, RepeatedRulesSchema, ["minItems", "maxItems", "unique", "items"]);
    const checks: Check[] = [];
    if (isFieldSet(rules, RepeatedRulesSchema.field.minItems)) {
      const min = rules.minItems;
      checks.push((list) => (list as unknown[]).length >= min);
    }
    if (isFieldSet(rules, RepeatedRulesSchema.field.maxItems)) {
      const max = rules.maxItems;
      checks.push((list) => (list as unknown[]).length <= max);
    }
    if (rules.unique) {
      // Strict equality, as protovalidate's native check; floats (NaN, -0), bytes and messages are left to it.
      const comparable =
        field.listKind === "enum" ||
        (field.listKind === "scalar" &&
          field.scalar !== ScalarType.BYTES &&
          field.scalar !== ScalarType.FLOAT &&
          field.scalar !== ScalarType.DOUBLE);
      if (!comparable) throw new Unsupported("unique");
      checks.push((list) => new Set(list as unknown[]).size === (list as unknown[]).length);
    }
    return checks;
  }

  /** The check of one element of a list, from its `items` rules and its message's own rules. */
  private element(field: DescField & { fieldKind: "list" }, items: FieldRules | undefined): Check | undefined {
    if (items) {
      const types = FieldRulesSchema.fields.filter((f) => f.oneof?.name === "type").map((f) => f.localName);
      onlySet(items, FieldRulesSchema, ["cel", "ignore", ...types]);
      if (items.ignore !== Ignore.UNSPECIFIED) throw new Unsupported("ignore on items");
    }
    if (field.listKind === "message") {
      const checks: Check[] = [];
      if (items) {
        checks.push(...this.celRules(items, undefined));
        if (items.type.case !== undefined) throw new Unsupported(`${items.type.case} rules on message items`);
      }
      const nested = this.message(field.message);
      if (nested) {
        if (isUnwrappedByTsProto(field.message)) throw new Unsupported(`rules inside ${field.message.typeName}`);
        checks.push(nested);
      }
      return every(checks);
    }
    if (!items) return undefined;
    const singular: Singular =
      field.listKind === "enum"
        ? { kind: "enum", values: field.enum.values.map((v) => v.number) }
        : { kind: "scalar", scalar: field.scalar };
    const valueCheck = this.valueRules(singular, items);
    if (!valueCheck) return undefined;
    const jsType = singular.kind === "enum" ? "number" : jsTypeOf(singular.scalar);
    return (value) => typeof value === jsType && valueCheck(value);
  }

  /** A scalar's or enum's CEL idioms and type rules. */
  private valueRules(singular: Singular, rules: FieldRules): Check | undefined {
    const isString = singular.kind === "scalar" && singular.scalar === ScalarType.STRING;
    const checks = this.celRules(rules, isString ? "string" : undefined);
    const type = rules.type;
    if (type.case !== undefined) {
      const expected = singular.kind === "enum" ? "enum" : RULES_CASE[singular.scalar];
      if (type.case !== expected) throw new Unsupported(`${type.case} rules on a ${expected} field`);
      if (type.case === "enum") checks.push(...enumRules(type.value, singular.kind === "enum" ? singular.values : []));
      else if (type.case === "string") checks.push(...stringRules(type.value));
      else if (type.case === "bool") checks.push(...boolRules(type.value));
      else if (type.case === "bytes") throw new Unsupported("bytes rules");
      else checks.push(...numericRules(type.value as unknown as NumericRules, type.case));
    }
    return every(checks);
  }

  /** The field's own CEL rules, each one of the recognised idioms, or Unsupported. */
  private celRules(rules: FieldRules, target: IdiomTarget | undefined): Check[] {
    return rules.cel.map((rule) => {
      const check = target && celIdiom(rule.expression, target);
      if (!check) throw new Unsupported(`CEL ${rule.expression}`);
      return check;
    });
  }
}

function zeroTest(singular: Singular): (value: unknown) => boolean {
  if (singular.kind === "enum") {
    const first = singular.values[0];
    return (value) => value === first;
  }
  switch (singular.scalar) {
    case ScalarType.STRING:
      return (value) => value === "";
    case ScalarType.BOOL:
      return (value) => value === false;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return (value) => Object.is(value, 0); // -0 is set, as protobuf-es counts it
    default:
      return (value) => value === 0;
  }
}

// --- string ---------------------------------------------------------------------------------------------------

/** The WHATWG HTML "valid e-mail address", as protovalidate checks `string.email` (its lib.ts isEmail). */
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TUUID = /^[0-9a-fA-F]{32}$/;

/** Code points, as CEL's size() and protovalidate count them (a lone surrogate counts as one). */
function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit < 0xdc00) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** Bytes of the UTF-8 encoding, a lone surrogate as U+FFFD (protovalidate's utf8ByteLength). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function stringRules(rules: StringRules): Check[] {
  const F = StringRulesSchema.field;
  onlySet(rules, StringRulesSchema, [
    ...["const", "len", "minLen", "maxLen", "lenBytes", "minBytes", "maxBytes", "pattern", "prefix", "suffix"],
    ...["contains", "notContains", "in", "notIn", "email", "uuid", "tuuid", "example"],
  ]);
  const checks: Check[] = [];
  const text = (check: (value: string) => boolean): Check => check as Check;
  if (isFieldSet(rules, F.const)) {
    const expected = rules.const;
    checks.push(text((v) => v === expected));
  }
  const len = isFieldSet(rules, F.len) ? Number(rules.len) : undefined;
  const min = isFieldSet(rules, F.minLen) ? Number(rules.minLen) : undefined;
  const max = isFieldSet(rules, F.maxLen) ? Number(rules.maxLen) : undefined;
  if (len === undefined && min === undefined && max !== undefined) {
    // A string has at most as many code points as UTF-16 units: most are within the bound without counting.
    checks.push(text((v) => v.length <= max || codePointLength(v) <= max));
  } else if (len !== undefined || min !== undefined || max !== undefined) {
    checks.push(
      text((v) => {
        const n = codePointLength(v);
        return (len === undefined || n === len) && (min === undefined || n >= min) && (max === undefined || n <= max);
      }),
    );
  }
  const lenBytes = isFieldSet(rules, F.lenBytes) ? Number(rules.lenBytes) : undefined;
  const minBytes = isFieldSet(rules, F.minBytes) ? Number(rules.minBytes) : undefined;
  const maxBytes = isFieldSet(rules, F.maxBytes) ? Number(rules.maxBytes) : undefined;
  if (lenBytes !== undefined || minBytes !== undefined || maxBytes !== undefined)
    checks.push(
      text((v) => {
        const n = utf8Length(v);
        return (
          (lenBytes === undefined || n === lenBytes) &&
          (minBytes === undefined || n >= minBytes) &&
          (maxBytes === undefined || n <= maxBytes)
        );
      }),
    );
  if (isFieldSet(rules, F.pattern)) {
    const regexp = re2SubsetRegExp(rules.pattern);
    if (!regexp) throw new Unsupported(`pattern ${rules.pattern}`);
    checks.push(text((v) => regexp.test(v)));
  }
  if (isFieldSet(rules, F.prefix)) {
    const prefix = rules.prefix;
    checks.push(text((v) => v.startsWith(prefix)));
  }
  if (isFieldSet(rules, F.suffix)) {
    const suffix = rules.suffix;
    checks.push(text((v) => v.endsWith(suffix)));
  }
  if (isFieldSet(rules, F.contains)) {
    const part = rules.contains;
    checks.push(text((v) => v.includes(part)));
  }
  if (isFieldSet(rules, F.notContains)) {
    const part = rules.notContains;
    checks.push(text((v) => !v.includes(part)));
  }
  if (rules.in.length > 0) {
    const allowed = rules.in;
    checks.push(text((v) => allowed.includes(v)));
  }
  if (rules.notIn.length > 0) {
    const refused = rules.notIn;
    checks.push(text((v) => !refused.includes(v)));
  }
  const known = rules.wellKnown;
  if (known.value === true) {
    const format = known.case === "email" ? EMAIL : known.case === "uuid" ? UUID : TUUID;
    checks.push(text((v) => v !== "" && format.test(v)));
  }
  return checks;
}

// --- numbers, bools, enums ----------------------------------------------------------------------------------------

/** The shape every numeric rules message shares (Int32Rules … DoubleRules); 64-bit integer types use bigint. */
interface NumericRules extends Message {
  readonly const: number | bigint;
  readonly lessThan: { readonly case: "lt" | "lte"; readonly value: number | bigint } | { readonly case: undefined };
  readonly greaterThan: { readonly case: "gt" | "gte"; readonly value: number | bigint } | { readonly case: undefined };
  readonly in: readonly (number | bigint)[];
  readonly notIn: readonly (number | bigint)[];
  readonly finite?: boolean;
}

function numericRules(rules: NumericRules, typeName: string): Check[] {
  const schema = FieldRulesSchema.fields.find((f) => f.localName === typeName)?.message;
  if (!schema) throw new Unsupported(typeName);
  onlySet(rules, schema, ["const", "lt", "lte", "gt", "gte", "in", "notIn", "finite", "example"]);
  const isNaNValue = (v: number | bigint) => typeof v === "number" && Number.isNaN(v);
  const bigints = typeof rules.const === "bigint";
  const float = typeName === "float" || typeName === "double";
  // 64-bit integers: compared as the rules hold them, exactly, as BigInts (the wire checks keep the generated
  // code's numbers within ±(2^53 − 1); anything else is not a value to compare).
  const checks: Check[] = bigints ? [(v) => Number.isSafeInteger(v)] : [];
  const exact = bigints ? (v: number) => BigInt(v) : (v: number) => v;
  const constField = schema.fields.find((f) => f.localName === "const")!;
  if (isFieldSet(rules, constField)) {
    const expected = rules.const;
    if (isNaNValue(expected)) throw new Unsupported("NaN");
    checks.push((v) => exact(v as number) === expected);
  }
  const lo = rules.greaterThan.case === undefined ? undefined : rules.greaterThan;
  const hi = rules.lessThan.case === undefined ? undefined : rules.lessThan;
  if ((lo && isNaNValue(lo.value)) || (hi && isNaNValue(hi.value))) throw new Unsupported("NaN bound");
  // protovalidate's ranges: below a lower bound or above an upper one fails; with both, a lower bound above the
  // upper one makes the range exclusive (outside both fails only); NaN fails every range of a float.
  const below = lo && ((v: number) => (lo.case === "gt" ? v <= lo.value : v < lo.value));
  const above = hi && ((v: number) => (hi.case === "lt" ? v >= hi.value : v > hi.value));
  if (below && above) {
    const normal = hi.value >= lo.value;
    checks.push((value) => {
      const v = value as number;
      if (float && Number.isNaN(v)) return false;
      return normal ? !above(v) && !below(v) : !(above(v) && below(v));
    });
  } else if (below || above) {
    const outside = (below ?? above)!;
    checks.push((value) => !(float && Number.isNaN(value)) && !outside(value as number));
  }
  if (rules.in.length > 0) {
    if (rules.in.some(isNaNValue)) throw new Unsupported("NaN");
    const allowed = rules.in;
    checks.push((v) => allowed.includes(exact(v as number)));
  }
  if (rules.notIn.length > 0) {
    if (rules.notIn.some(isNaNValue)) throw new Unsupported("NaN");
    const refused = rules.notIn;
    checks.push((v) => !refused.includes(exact(v as number)));
  }
  if (rules.finite === true) checks.push((v) => Number.isFinite(v));
  return checks;
}

function boolRules(rules: BoolRules): Check[] {
  onlySet(rules, BoolRulesSchema, ["const", "example"]);
  if (!isFieldSet(rules, BoolRulesSchema.field.const)) return [];
  const expected = rules.const;
  return [(v) => v === expected];
}

function enumRules(rules: EnumRules, values: readonly number[]): Check[] {
  onlySet(rules, EnumRulesSchema, ["const", "definedOnly", "in", "notIn", "example"]);
  const checks: Check[] = [];
  if (isFieldSet(rules, EnumRulesSchema.field.const)) {
    const expected = rules.const;
    checks.push((v) => v === expected);
  }
  if (rules.definedOnly) {
    const defined = new Set(values);
    checks.push((v) => defined.has(v as number));
  }
  if (rules.in.length > 0) {
    const allowed = rules.in;
    checks.push((v) => allowed.includes(v as number));
  }
  if (rules.notIn.length > 0) {
    const refused = rules.notIn;
    checks.push((v) => !refused.includes(v as number));
  }
  return checks;
}

// --- well-known types -----------------------------------------------------------------------------------------

/** google.protobuf.Duration's range (duration.proto): ±10,000 years. */
const MAX_DURATION_SECONDS = 315_576_000_000;

/**
 * A Duration as nanoseconds, when it is a normal one (seconds and nanos in range and of one sign); undefined
 * otherwise, and the check answers false: what protovalidate makes of an abnormal Duration is its own business.
 */
function durationNanos(value: unknown): bigint | undefined {
  const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
  if (typeof seconds !== "number" || typeof nanos !== "number") return undefined;
  if (!Number.isInteger(seconds) || !Number.isInteger(nanos)) return undefined;
  if (Math.abs(seconds) > MAX_DURATION_SECONDS || Math.abs(nanos) > 999_999_999) return undefined;
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return undefined;
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

function ruleNanos(duration: Duration | undefined): bigint {
  const nanos = duration && durationNanos({ seconds: Number(duration.seconds), nanos: duration.nanos });
  if (nanos === undefined) throw new Unsupported("abnormal duration in a rule");
  return nanos;
}

function durationRules(rules: DurationRules): Check {
  const F = DurationRulesSchema.field;
  onlySet(rules, DurationRulesSchema, ["const", "lt", "lte", "gt", "gte", "in", "notIn", "example"]);
  const expected = isFieldSet(rules, F.const) ? ruleNanos(rules.const) : undefined;
  const lo = rules.greaterThan.case && {
    strict: rules.greaterThan.case === "gt",
    value: ruleNanos(rules.greaterThan.value),
  };
  const hi = rules.lessThan.case && { strict: rules.lessThan.case === "lt", value: ruleNanos(rules.lessThan.value) };
  const allowed = rules.in.map(ruleNanos);
  const refused = rules.notIn.map(ruleNanos);
  const below = (v: bigint) => lo !== undefined && (lo.strict ? v <= lo.value : v < lo.value);
  const above = (v: bigint) => hi !== undefined && (hi.strict ? v >= hi.value : v > hi.value);
  const exclusive = lo !== undefined && hi !== undefined && hi.value < lo.value;
  return (value) => {
    const v = durationNanos(value);
    if (v === undefined) return false;
    if (expected !== undefined && v !== expected) return false;
    if (exclusive ? above(v) && below(v) : above(v) || below(v)) return false;
    if (allowed.length > 0 && !allowed.includes(v)) return false;
    return !refused.includes(v);
  };
}

/** Rules on a FieldMask, whose value ts-proto gives as its paths. */
function fieldMaskRules(rules: FieldMaskRules): Check {
  onlySet(rules, FieldMaskRulesSchema, ["const", "in", "notIn", "example"]);
  const expected = isFieldSet(rules, FieldMaskRulesSchema.field.const) ? (rules.const?.paths ?? []) : undefined;
  const allowed = rules.in;
  const refused = rules.notIn;
  // A path is named by the list when it is in it, or under one of its paths (`a` names `a.b`).
  const named = (list: readonly string[], path: string) =>
    list.includes(path) || list.some((f) => path.startsWith(`${f}.`));
  return (value) => {
    if (!Array.isArray(value)) return false;
    const paths: unknown[] = value;
    if (!paths.every((p) => typeof p === "string")) return false;
    if (expected !== undefined && (paths.length !== expected.length || paths.some((p, i) => p !== expected[i])))
      return false;
    if (allowed.length > 0 && !paths.every((p) => named(allowed, p))) return false;
    return refused.length === 0 || !paths.some((p) => named(refused, p));
  };
}
