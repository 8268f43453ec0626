import { DomainError } from "./domain.js";
import { GrpcError } from "./grpc-error.js";
import { Status } from "./status-codes.js";

/**
 * The status an error becomes on the wire: GrpcErrors as they are, domain errors by their own toStatus(). Anything
 * else is a bug, and becomes INTERNAL with a message that leaks nothing (the recovery interceptor logs the original).
 */
export function toGrpcError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error;
  if (error instanceof DomainError) return error.toStatus();
  return new GrpcError(Status.INTERNAL, "internal error", [], { cause: error });
}

/** True when the error is one the service meant to return (not a bug). */
export function isExpectedError(error: unknown): boolean {
  return error instanceof GrpcError || error instanceof DomainError;
}
