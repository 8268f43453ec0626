import {
  create,
  mergeFromJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonReadOptions,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import { isFieldError } from "@bufbuild/protobuf/reflect";
import type { Route } from "../routing/routes.js";

/**
 * A request that cannot become the method's request message: malformed JSON, a value of the wrong type in the body,
 * the path or the query. Answered as INVALID_ARGUMENT (HTTP 400) with a google.rpc.BadRequest violation for `field`.
 */
export class BindingError extends Error {
  override readonly name = "BindingError";
  constructor(
    /** Where the bad value was: "body", a query parameter's name, or a path field's dotted name. */
    readonly field: string,
    readonly description: string,
  ) {
    super(`${field}: ${description}`);
  }
}

/** Where the parts of a REST request are. `body` is the raw request body (empty when none was sent). */
export interface RestRequestParts {
  readonly variables: ReadonlyMap<string, string>;
  readonly query: URLSearchParams;
  readonly body: Uint8Array;
}

/**
 * Builds the request message of `route` from a REST request, as grpc-gateway does: the body first (the whole
 * message for `body: "*"`, one field for `body: "<field>"`, ignored without a body rule), then the path
 * variables, which win over the body, then — unless the body is "*" — the query string for every field bound
 * nowhere else. Query keys are dotted field paths (`user.display_name` or `user.displayName`), a repeated field
 * repeats its key, `map_field[key]=value` sets a map entry, enums take a name or a number, unknown keys are ignored.
 * Throws BindingError naming the field at fault.
 */
export function bindRequest(route: Route, parts: RestRequestParts, read: Partial<JsonReadOptions>): Message {
  const schema = route.method.input;
  const message = create(schema) as Message;
  const { body } = route.binding;
  if (body !== "" && parts.body.length > 0) {
    const json = parseJsonBody(parts.body);
    const value: JsonValue = route.bodyField ? { [route.bodyField.name]: json } : json;
    merge(schema, message, value, read, route.bodyField ? route.bodyField.name : "body");
  }
  // Exact values from the path and the query: an enum name or field that does not exist is an error here.
  const strict = { ...read, ignoreUnknownFields: false };
  for (const [path, value] of parts.variables) {
    const fields = route.pathFields.get(path)!;
    merge(schema, message, nest(fields, scalarJson(fields[fields.length - 1]!, value, path)), strict, path);
  }
  if (body === "*") return message;
  const bound = [...route.pathFields.keys()].map((path) => path.split("."));
  if (route.bodyField) bound.push([route.bodyField.name]);
  for (const key of new Set(parts.query.keys())) {
    const values = parts.query.getAll(key);
    const mapKey = /^(.*)\[(.*)\]$/.exec(key);
    const names = (mapKey ? mapKey[1]! : key).split(".");
    const fields = queryFields(schema, names, key);
    if (!fields) continue;
    const protoPath = fields.map((f) => f.name);
    if (bound.some((b) => b.length <= protoPath.length && b.every((name, i) => protoPath[i] === name))) continue;
    const leaf = fields[fields.length - 1]!;
    let value: JsonValue;
    if (leaf.fieldKind === "map") {
      if (!mapKey) throw new BindingError(key, `${leaf.name} is a map: set an entry as ${key}[<key>]=<value>`);
      if (values.length !== 1) throw new BindingError(key, "a map entry takes one value");
      value = { [mapKey[2]!]: mapValueJson(leaf, values[0]!, key) };
    } else if (leaf.fieldKind === "list") {
      value = values.map((v) => scalarJson(leaf, v, key));
    } else {
      if (values.length > 1) throw new BindingError(key, `takes one value, got ${values.length}`);
      value = scalarJson(leaf, values[0]!, key);
    }
    merge(schema, message, nest(fields, value), strict, key);
  }
  return message;
}

function parseJsonBody(bytes: Uint8Array): JsonValue {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as JsonValue;
  } catch (error) {
    throw new BindingError("body", `malformed JSON: ${(error as Error).message}`);
  }
}

function merge(
  schema: DescMessage,
  message: Message,
  json: JsonValue,
  options: Partial<JsonReadOptions>,
  where: string,
) {
  try {
    mergeFromJson(schema, message, json, options);
  } catch (error) {
    const cause = (error as Error).cause;
    const field = isFieldError(cause) ? fieldLabel(cause.field()) : undefined;
    const reason = isFieldError(cause) ? cause.message : (error as Error).message;
    // The body's faults are named by the field inside it; the path's and the query's by the name the client used.
    const name = where === "body" && field ? field : where;
    throw new BindingError(name, field && name !== field ? `${field}: ${reason}` : reason);
  }
}

function fieldLabel(field: { readonly name: string; readonly kind: string }): string {
  return field.name;
}

/** The fields a query key names (proto or JSON names); undefined when one does not exist (the key is ignored). */
function queryFields(schema: DescMessage, names: readonly string[], key: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage = schema;
  for (const [i, name] of names.entries()) {
    const field = current.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) return undefined;
    fields.push(field);
    if (i === names.length - 1) break;
    if (field.fieldKind !== "message")
      throw new BindingError(key, `${names.slice(0, i + 1).join(".")} is not a message field`);
    current = field.message;
  }
  return fields;
}

/** `{a: {b: value}}` for the fields a → b, by proto name. */
function nest(fields: readonly DescField[], value: JsonValue): JsonObject {
  let json: JsonValue = value;
  for (let i = fields.length - 1; i >= 0; i--) json = { [fields[i]!.name]: json };
  return json as JsonObject;
}

const TRUE = new Set(["true", "True", "TRUE", "t", "T", "1"]);
const FALSE = new Set(["false", "False", "FALSE", "f", "F", "0"]);
const STRING_MESSAGES = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);

/**
 * The JSON value for one text value (a query or path value) of a singular, list or map-value field: the proto3
 * JSON parser then checks it (numbers from strings, 64-bit integers exactly, base64 bytes, RFC 3339 timestamps).
 * Booleans take what Go's strconv.ParseBool takes, as grpc-gateway does; enums a name or a number.
 */
function scalarJson(field: DescField, text: string, where: string): JsonValue {
  switch (field.fieldKind) {
    case "scalar":
      return textToScalar(field.scalar, text, where);
    case "list":
      if (field.listKind === "scalar") return textToScalar(field.scalar, text, where);
      if (field.listKind === "enum") return enumJson(text);
      return messageJson(field.message, text, where);
    case "enum":
      return enumJson(text);
    case "message":
      return messageJson(field.message, text, where);
    case "map":
      throw new BindingError(where, "is a map field");
  }
}

function mapValueJson(field: DescField & { fieldKind: "map" }, text: string, where: string): JsonValue {
  if (field.mapKind === "scalar") return textToScalar(field.scalar, text, where);
  if (field.mapKind === "enum") return enumJson(text);
  return messageJson(field.message, text, where);
}

function enumJson(text: string): JsonValue {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

function messageJson(message: DescMessage, text: string, where: string): JsonValue {
  if (message.typeName === "google.protobuf.BoolValue") return textToScalar(ScalarType.BOOL, text, where);
  if (STRING_MESSAGES.has(message.typeName)) return text;
  throw new BindingError(where, `is a message (${message.typeName}): set its fields as ${where}.<field>`);
}

function textToScalar(type: ScalarType, text: string, where: string): JsonValue {
  if (type === ScalarType.BOOL) {
    if (TRUE.has(text)) return true;
    if (FALSE.has(text)) return false;
    throw new BindingError(where, `invalid value ${JSON.stringify(text)} for a bool (use true or false)`);
  }
  // Numbers and bytes as strings: the JSON parser accepts them so and checks range and syntax itself.
  return text;
}
