import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { Status as RpcStatus } from "@lattice/proto/google/rpc/status";
import { anyToDetail, detailToAny, type ErrorDetail, type KnownDetailType } from "./details.js";
import { Status, codeName } from "./status-codes.js";

type DetailValues = { [K in KnownDetailType]: Extract<ErrorDetail, { type: K }>["value"] };

/** Trailer that carries a serialized google.rpc.Status, the cross-language way to send error details. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/**
 * An error with a gRPC status code, a message safe to show the caller, and google.rpc details. Thrown by handlers
 * (or produced from domain errors) on the server; produced from a ServiceError by Lattice clients.
 */
export class GrpcError extends Error {
  override readonly name = "GrpcError";

  constructor(
    readonly code: Status,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get codeName(): string {
    return codeName(this.code);
  }

  /** The first detail of a given type, e.g. `err.detail("BadRequest")?.fieldViolations`. */
  detail<T extends KnownDetailType>(type: T): DetailValues[T] | undefined {
    const found = this.details.find((d) => d.type === type);
    return found?.value as DetailValues[T] | undefined;
  }

  /** The grpc-js shape a server hands to a callback or stream: code, message and details in the trailers. */
  toServiceError(): Partial<ServiceError> & Error {
    const metadata = new Metadata();
    if (this.details.length > 0) {
      const status = RpcStatus.encode({
        code: this.code,
        message: this.message,
        details: this.details.map(detailToAny),
      }).finish();
      metadata.set(STATUS_DETAILS_KEY, Buffer.from(status));
    }
    return Object.assign(new Error(this.message), { code: this.code, details: this.message, metadata });
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
    return new GrpcError(error.code, message, details, { cause: error });
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "metadata" in error;
}
