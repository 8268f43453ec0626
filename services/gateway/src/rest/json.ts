import type { JsonReadOptions, JsonWriteOptions, Registry } from "@bufbuild/protobuf";

/**
 * The proto3 JSON mapping as grpc-gateway's default marshaler applies it: every field written, unset ones with their
 * default (EmitUnpopulated), lowerCamelCase names, 64-bit integers as strings, enums by name; on input both the
 * JSON and the proto names, and unknown fields (and unknown enum names) ignored (DiscardUnknown). `registry`
 * resolves google.protobuf.Any, e.g. the details of an error.
 */
export function jsonOptions(registry: Registry): { read: Partial<JsonReadOptions>; write: Partial<JsonWriteOptions> } {
  return {
    read: { ignoreUnknownFields: true, registry },
    write: { alwaysEmitImplicit: true, registry },
  };
}
