import { fromBinary, toJson, type DescMessage, type JsonObject, type JsonWriteOptions } from "@bufbuild/protobuf";
import { wireJsonReader, WireJsonUnsupported, type WireJsonReader } from "./wire-json.js";

/**
 * A backend's answer (protobuf bytes) as proto3 JSON, as `toJson(schema, fromBinary(schema, bytes), write)` makes
 * it. With the gateway's options (every implicit field written, JSON names, enums by name) the JSON is read from the
 * bytes directly (wire-json.ts), several times faster; bytes or messages that reader leaves alone, and other
 * options, go through @bufbuild/protobuf, whose errors (e.g. invalid UTF-8, a Timestamp out of range) are thrown as
 * they are.
 */
export class ResponseJson {
  private readonly readers = new WeakMap<DescMessage, WireJsonReader | null>();
  private readonly direct: boolean;

  constructor(private readonly write: Partial<JsonWriteOptions>) {
    this.direct = write.alwaysEmitImplicit === true && write.enumAsInteger !== true && write.useProtoFieldName !== true;
  }

  /** The JSON object of the `schema` message in `bytes`; throws what @bufbuild/protobuf throws for bad bytes. */
  of(schema: DescMessage, bytes: Uint8Array): JsonObject {
    const reader = this.readerOf(schema);
    if (reader) {
      try {
        return reader(bytes);
      } catch (error) {
        if (!(error instanceof WireJsonUnsupported)) throw error;
      }
    }
    return toJson(schema, fromBinary(schema, bytes), this.write) as JsonObject;
  }

  private readerOf(schema: DescMessage): WireJsonReader | undefined {
    if (!this.direct) return undefined;
    let reader = this.readers.get(schema);
    if (reader === undefined) {
      reader = wireJsonReader(schema) ?? null;
      this.readers.set(schema, reader);
    }
    return reader ?? undefined;
  }
}
