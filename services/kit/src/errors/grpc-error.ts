import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { Status as RpcStatus } from "@lattice/proto/google/rpc/status";
import { boundDetails, boundText, MAX_MESSAGE_BYTES, MAX_STATUS_BYTES } from "./bounds.js";
import { anyToDetail, detailToAny, type ErrorDetail, type KnownDetailType } from "./details.js";
import { Status, codeName } from "./status-codes.js";

type DetailValues = { [K in KnownDetailType]: Extract<ErrorDetail, { type: K }>["value"] };

/** Trailer that carries a serialized google.rpc.Status, the cross-language way to send error details. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

export interface GrpcErrorOptions {
  cause?: unknown;
  /**
   * Trailers. Thrown on a server: sent with the status (beside those the handler set on ctx.responseTrailer).
   * Received by a client: every trailer the server sent, grpc-status-details-bin included.
   */
  metadata?: Metadata;
}

/**
 * An error with a gRPC status code, a message safe to show the caller, google.rpc details and trailers. Thrown by
 * handlers (or produced from domain errors) on the server; produced from the status a server sent by Lattice
 * clients, so `code`, `message`, `details` and `metadata` read the same on both ends.
 */
export class GrpcError extends Error {
  override readonly name = "GrpcError";
  readonly metadata: Metadata;

  constructor(
    readonly code: Status,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    options: GrpcErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.metadata = options.metadata ?? new Metadata();
  }

  get codeName(): string {
    return codeName(this.code);
  }

  /** The first detail of a given type, e.g. `err.detail("BadRequest")?.fieldViolations`. */
  detail<T extends KnownDetailType>(type: T): DetailValues[T] | undefined {
    const found = this.details.find((d) => d.type === type);
    return found?.value as DetailValues[T] | undefined;
  }

  /**
   * The grpc-js shape a server hands to a callback or stream: code, message, and as trailers this error's metadata,
   * `trailer` (what the handler set) and the details. Whatever the error quotes is bounded here, for every error
   * a server sends (errors/bounds.ts): the message to MAX_MESSAGE_BYTES, the google.rpc.Status with its details to
   * MAX_STATUS_BYTES — strings and lists in details are cut first, then the last details dropped.
   */
  toServiceError(trailer?: Metadata): Partial<ServiceError> & Error {
    const metadata = this.metadata.clone();
    if (trailer) metadata.merge(trailer);
    const message = boundText(this.message, MAX_MESSAGE_BYTES);
    const status = this.details.length > 0 ? encodeStatus(this.code, message, this.details) : undefined;
    if (status) metadata.set(STATUS_DETAILS_KEY, status);
    return Object.assign(new Error(message), { code: this.code, details: message, metadata });
  }

  /** Rebuilds the error a server sent, decoding google.rpc details from the trailers when present. */
  static fromServiceError(error: ServiceError): GrpcError {
    const raw = error.metadata.get(STATUS_DETAILS_KEY)[0];
    let details: ErrorDetail[] = [];
    let message = error.details;
    if (raw instanceof Buffer) {
      try {
        const status = RpcStatus.decode(raw);
        details = status.details.map(anyToDetail);
        message = status.message || message;
      } catch {
        // Undecodable details: keep code and message, which are always authoritative.
      }
    }
    return new GrpcError(error.code, message, details, { cause: error, metadata: error.metadata });
  }
}

/** The google.rpc.Status trailer within MAX_STATUS_BYTES: fewer list items, then fewer details, until it fits. */
function encodeStatus(code: Status, message: string, details: readonly ErrorDetail[]): Buffer | undefined {
  const encode = (kept: readonly ErrorDetail[]) =>
    Buffer.from(RpcStatus.encode({ code, message, details: kept.map(detailToAny) }).finish());
  for (let items = 16; items >= 1; items = Math.floor(items / 2)) {
    let kept = boundDetails(details, items);
    for (; kept.length > 0; kept = kept.slice(0, -1)) {
      const status = encode(kept);
      if (status.length <= MAX_STATUS_BYTES) return status;
    }
  }
  return undefined;
}

/** True for the error objects grpc-js produces for a failed call (code, details, metadata). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "metadata" in error;
}
