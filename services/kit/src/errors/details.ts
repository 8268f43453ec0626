import type { Any } from "@lattice/proto/google/protobuf/any";
import {
  BadRequest,
  ErrorInfo,
  Help,
  LocalizedMessage,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
} from "@lattice/proto/google/rpc/error_details";

/**
 * The google.rpc error detail messages a Lattice error can carry, as a tagged union so code that builds or reads
 * them stays typed. `Unknown` keeps a detail this version does not know instead of dropping it.
 */
export type ErrorDetail =
  | { readonly type: "BadRequest"; readonly value: BadRequest }
  | { readonly type: "ErrorInfo"; readonly value: ErrorInfo }
  | { readonly type: "RetryInfo"; readonly value: RetryInfo }
  | { readonly type: "PreconditionFailure"; readonly value: PreconditionFailure }
  | { readonly type: "ResourceInfo"; readonly value: ResourceInfo }
  | { readonly type: "QuotaFailure"; readonly value: QuotaFailure }
  | { readonly type: "RequestInfo"; readonly value: RequestInfo }
  | { readonly type: "Help"; readonly value: Help }
  | { readonly type: "LocalizedMessage"; readonly value: LocalizedMessage }
  | { readonly type: "Unknown"; readonly typeUrl: string; readonly value: Uint8Array };

export type KnownDetailType = Exclude<ErrorDetail["type"], "Unknown">;

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

const CODECS: { readonly [K in KnownDetailType]: Codec<Extract<ErrorDetail, { type: K }>["value"]> } = {
  BadRequest,
  ErrorInfo,
  RetryInfo,
  PreconditionFailure,
  ResourceInfo,
  QuotaFailure,
  RequestInfo,
  Help,
  LocalizedMessage,
};

const TYPE_URL_PREFIX = "type.googleapis.com/google.rpc.";

export function detailToAny(detail: ErrorDetail): Any {
  if (detail.type === "Unknown") return { typeUrl: detail.typeUrl, value: Buffer.from(detail.value) };
  const codec = CODECS[detail.type] as Codec<typeof detail.value>;
  return { typeUrl: TYPE_URL_PREFIX + detail.type, value: Buffer.from(codec.encode(detail.value).finish()) };
}

export function anyToDetail(any: Any): ErrorDetail {
  const name = any.typeUrl.startsWith(TYPE_URL_PREFIX) ? any.typeUrl.slice(TYPE_URL_PREFIX.length) : "";
  if (name in CODECS) {
    const type = name as KnownDetailType;
    try {
      return { type, value: CODECS[type].decode(any.value) } as ErrorDetail;
    } catch {
      // A malformed detail must not hide the status itself; keep the raw bytes.
    }
  }
  return { type: "Unknown", typeUrl: any.typeUrl, value: any.value };
}
