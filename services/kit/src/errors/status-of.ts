import { DomainError } from "./domain.js";
import { GrpcError } from "./grpc-error.js";
import { Status } from "./status-codes.js";

/** The status code an error ends a call with (without building the status itself). */
export function statusOf(error: unknown): Status {
  if (error instanceof GrpcError) return error.code;
  if (error instanceof DomainError) return error.toStatus().code;
  return Status.INTERNAL;
}
