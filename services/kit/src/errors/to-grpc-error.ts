import {
  AlreadyExistsError,
  ConflictError,
  DomainError,
  NotFoundError,
  PreconditionError,
  UnavailableError,
  ValidationError,
} from "./domain.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unavailable } from "./factories.js";
import { GrpcError } from "./grpc-error.js";
import { Status } from "./status-codes.js";

/**
 * The status an error becomes on the wire: GrpcErrors as they are, domain errors by their kind. Anything else is
 * a bug, and becomes INTERNAL with a message that leaks nothing (the recovery interceptor logs the original).
 */
export function toGrpcError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error;
  if (error instanceof ValidationError) return invalidArgument(error.violations);
  if (error instanceof NotFoundError) return notFound(error.resourceType, error.resourceName, error.message);
  if (error instanceof AlreadyExistsError) return alreadyExists(error.resourceType, error.resourceName, error.message);
  if (error instanceof PreconditionError) return failedPrecondition(error.type, error.subject, error.message);
  if (error instanceof ConflictError) return new GrpcError(Status.ABORTED, error.message);
  if (error instanceof UnavailableError) return unavailable(error.message, error.retryAfterMs);
  return new GrpcError(Status.INTERNAL, "internal error", [], { cause: error });
}

/** True when the error is one the service meant to return (not a bug). */
export function isExpectedError(error: unknown): boolean {
  return error instanceof GrpcError || error instanceof DomainError;
}
