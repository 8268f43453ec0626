import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

const INT64 = "^-?[0-9]{1,19}$";
const UINT64 = "^[0-9]{1,20}$";
const DURATION = "^-?[0-9]{1,12}(\\.[0-9]{1,9})?s$";

/** The component name of a message or enum: its full protobuf name. */
export function componentName(desc: DescMessage | DescEnum): string {
  return desc.typeName;
}

export function ref(desc: DescMessage | DescEnum): JsonSchema {
  return { $ref: `#/components/schemas/${componentName(desc)}` };
}

/**
 * The JSON Schema of a scalar as the proto3 JSON mapping writes it: 64-bit integers as decimal strings, bytes as
 * base64; what the gateway also accepts on input (numbers for 64-bit integers, enum numbers) is left out so that
 * what the document promises is what every response holds.
 */
export function scalarSchema(type: ScalarType): JsonSchema {
  switch (type) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: INT64 };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: UINT64 };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
  }
}

/** Well-known types with a JSON form of their own (the proto3 JSON mapping's table). */
export function wellKnownSchema(typeName: string): JsonSchema | undefined {
  const wrapper = (schema: JsonSchema): JsonSchema => ({ ...schema, type: [schema["type"] as string, "null"] });
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: DURATION };
    case "google.protobuf.FieldMask":
      return { type: "string" };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.Any":
      return {
        type: "object",
        properties: { "@type": { type: "string" } },
        required: ["@type"],
        additionalProperties: true,
      };
    case "google.protobuf.StringValue":
      return wrapper(scalarSchema(ScalarType.STRING));
    case "google.protobuf.BytesValue":
      return wrapper(scalarSchema(ScalarType.BYTES));
    case "google.protobuf.BoolValue":
      return wrapper(scalarSchema(ScalarType.BOOL));
    case "google.protobuf.Int32Value":
      return wrapper(scalarSchema(ScalarType.INT32));
    case "google.protobuf.UInt32Value":
      return wrapper(scalarSchema(ScalarType.UINT32));
    case "google.protobuf.Int64Value":
      return wrapper(scalarSchema(ScalarType.INT64));
    case "google.protobuf.UInt64Value":
      return wrapper(scalarSchema(ScalarType.UINT64));
    case "google.protobuf.FloatValue":
      return wrapper(scalarSchema(ScalarType.FLOAT));
    case "google.protobuf.DoubleValue":
      return wrapper(scalarSchema(ScalarType.DOUBLE));
    default:
      return undefined;
  }
}

/** Collects the component schemas of every message and enum a document refers to. */
export class SchemaCollector {
  readonly components = new Map<string, JsonSchema>();

  /** A schema for a message: a $ref to its component (collected), or a well-known type's own schema inline. */
  message(desc: DescMessage): JsonSchema {
    const known = wellKnownSchema(desc.typeName);
    if (known) return known;
    const name = componentName(desc);
    if (!this.components.has(name)) {
      this.components.set(name, {}); // placed first: recursive messages refer to it while it is built
      this.components.set(
        name,
        this.objectSchema(desc, () => true),
      );
    }
    return ref(desc);
  }

  /** The object schema of `desc`'s fields that `keep` keeps, by JSON name. */
  objectSchema(desc: DescMessage, keep: (field: DescField) => boolean): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const field of desc.fields) if (keep(field)) properties[field.jsonName] = this.field(field);
    const oneofs = desc.oneofs.filter((o) => !o.fields.some((f) => f.proto.proto3Optional));
    const description =
      oneofs.length > 0
        ? oneofs.map((o) => `At most one of ${o.fields.map((f) => f.jsonName).join(", ")}.`).join(" ")
        : undefined;
    return {
      type: "object",
      title: desc.name,
      ...(description ? { description } : {}),
      properties,
    };
  }

  enumSchema(desc: DescEnum): JsonSchema {
    const name = componentName(desc);
    if (!this.components.has(name))
      this.components.set(name, { type: "string", title: desc.name, enum: desc.values.map((v) => v.name) });
    return ref(desc);
  }

  /** The schema of one field's JSON value. */
  field(field: DescField): JsonSchema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return field.enum.typeName === "google.protobuf.NullValue" ? { type: "null" } : this.enumSchema(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumSchema(field.enum)
                : this.message(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumSchema(field.enum)
                : this.message(field.message),
        };
    }
  }
}
