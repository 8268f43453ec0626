import type { DescField, DescMessage } from "@bufbuild/protobuf";

/**
 * How the generated code (ts-proto, with the options of proto/buf.gen.yaml) shapes a decoded message, as far as the
 * compiled rules read it: the property a field is kept in, and the message types it does not keep as plain objects.
 */

/**
 * The property holding `field`: ts-proto's `maybeSnakeToCamel` with its default `snakeToCamel=keys,json`
 * (ts-proto src/case.ts): a name with an underscore is camel-cased word by word (a name without lower-case letters
 * is lower-cased first), any other name is kept as written.
 */
export function tsProtoProperty(field: DescField): string {
  const name = field.name;
  if (!name.includes("_")) return name;
  const hasLowerCase = /[a-z]/.test(name);
  return name
    .split("_")
    .map((word, i) => {
      const w = hasLowerCase ? word : word.toLowerCase();
      return i === 0 ? w : w.slice(0, 1).toUpperCase() + w.slice(1);
    })
    .join("");
}

/**
 * Message types ts-proto does not decode into a plain object of their fields: wrappers become the wrapped value,
 * Timestamp a Date, FieldMask its `paths` (`string[]`), Struct/Value/ListValue plain JSON values. (Duration and Any
 * stay objects of their fields.)
 */
export function isUnwrappedByTsProto(message: DescMessage): boolean {
  return UNWRAPPED.has(message.typeName);
}

const UNWRAPPED = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Timestamp",
  "google.protobuf.FieldMask",
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);
