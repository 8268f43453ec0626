import { GrpcError } from "./grpc-error.js";
import { Status } from "./status-codes.js";
import type { ErrorDetail } from "./details.js";

/**
 * Errors the service layer throws. They say what went wrong in business terms and carry no gRPC types for the code
 * that throws them; each knows the status it becomes at the transport edge (toStatus), with the google.rpc detail
 * clients expect for that code (AIP-193).
 */
export abstract class DomainError extends Error {
  /** The status this error is sent as. */
  abstract toStatus(): GrpcError;
}

export interface FieldViolation {
  /** Path to the field in the request, e.g. "name" or "items[2].quantity". */
  readonly field: string;
  readonly description: string;
  /**
   * Machine-readable kind of violation, sent as the BadRequest violation's `reason`: the protovalidate rule id for
   * contract rules (e.g. "string.max_len"), or a kit reason such as "INVALID_UTF8". Empty when not given.
   */
  readonly reason?: string;
}

/** The input is wrong, whatever the state of the system: INVALID_ARGUMENT with BadRequest field violations. */
export class ValidationError extends DomainError {
  constructor(readonly violations: readonly FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; ") || "invalid argument");
  }

  toStatus(): GrpcError {
    const fieldViolations = this.violations.map((v) => ({
      field: v.field,
      description: v.description,
      reason: v.reason ?? "",
      localizedMessage: undefined,
    }));
    return new GrpcError(Status.INVALID_ARGUMENT, this.message, [{ type: "BadRequest", value: { fieldViolations } }]);
  }
}

/** A named resource does not exist: NOT_FOUND with ResourceInfo. */
export class NotFoundError extends DomainError {
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
  ) {
    super(`${resourceType} "${resourceName}" not found`);
  }

  toStatus(): GrpcError {
    return new GrpcError(Status.NOT_FOUND, this.message, [resourceInfo(this, "not found")]);
  }
}

/** Creating would duplicate a unique resource: ALREADY_EXISTS with ResourceInfo. */
export class AlreadyExistsError extends DomainError {
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
    message = `${resourceType} "${resourceName}" already exists`,
  ) {
    super(message);
  }

  toStatus(): GrpcError {
    return new GrpcError(Status.ALREADY_EXISTS, this.message, [resourceInfo(this, "already exists")]);
  }
}

/**
 * The system is not in the state the operation needs, e.g. cancelling a paid order: FAILED_PRECONDITION with a
 * PreconditionFailure naming the violation `type` (e.g. "ORDER_STATE") and its `subject` (e.g. "orders/…").
 */
export class PreconditionError extends DomainError {
  constructor(
    readonly type: string,
    readonly subject: string,
    description: string,
  ) {
    super(description);
  }

  toStatus(): GrpcError {
    const violation = { type: this.type, subject: this.subject, description: this.message };
    return new GrpcError(Status.FAILED_PRECONDITION, this.message, [
      { type: "PreconditionFailure", value: { violations: [violation] } },
    ]);
  }
}

/** A concurrent change won; the caller may retry the whole read-modify-write: ABORTED. */
export class ConflictError extends DomainError {
  toStatus(): GrpcError {
    return new GrpcError(Status.ABORTED, this.message);
  }
}

/** A dependency is down; the caller may retry later: UNAVAILABLE, with RetryInfo when a delay (ms) is known. */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    /** `cause`: the dependency's own error, for logs; it never reaches the caller. */
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toStatus(): GrpcError {
    const details: ErrorDetail[] = this.retryAfterMs === undefined ? [] : [retryInfo(this.retryAfterMs)];
    return new GrpcError(Status.UNAVAILABLE, this.message, details);
  }
}

/**
 * An operation ran out of time or was abandoned part-way, so whether it took effect is not known (a charge that
 * timed out may have gone through): DEADLINE_EXCEEDED. Retrying is safe only where the operation is idempotent.
 */
export class OutcomeUnknownError extends DomainError {
  toStatus(): GrpcError {
    return new GrpcError(Status.DEADLINE_EXCEEDED, this.message);
  }
}

function resourceInfo(error: { resourceType: string; resourceName: string }, description: string): ErrorDetail {
  return {
    type: "ResourceInfo",
    value: { resourceType: error.resourceType, resourceName: error.resourceName, owner: "", description },
  };
}

/** RetryInfo with a delay in milliseconds, as google.protobuf.Duration. */
function retryInfo(ms: number): ErrorDetail {
  const seconds = Math.floor(ms / 1000);
  return { type: "RetryInfo", value: { retryDelay: { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) } } };
}
