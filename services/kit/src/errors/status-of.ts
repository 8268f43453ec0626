import { GrpcError } from "./grpc-error.js";
import type { Status } from "./status-codes.js";
import { toGrpcError } from "./to-grpc-error.js";

/** The status code an error ends a call with. */
export function statusOf(error: unknown): Status {
  return error instanceof GrpcError ? error.code : toGrpcError(error).code;
}
