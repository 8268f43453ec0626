/**
 * Errors the service layer throws. They say what went wrong in business terms and carry no gRPC types; the kit maps
 * them to status codes and google.rpc details at the transport edge (see toGrpcError).
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
}

export type DomainErrorKind = "invalid" | "not_found" | "already_exists" | "precondition" | "conflict" | "unavailable";

export interface FieldViolation {
  /** Path to the field in the request, e.g. "name" or "items[2].quantity". */
  readonly field: string;
  readonly description: string;
}

/** The input is wrong, whatever the state of the system (INVALID_ARGUMENT with BadRequest). */
export class ValidationError extends DomainError {
  readonly kind = "invalid";
  constructor(readonly violations: readonly FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

/** A named resource does not exist (NOT_FOUND with ResourceInfo). */
export class NotFoundError extends DomainError {
  readonly kind = "not_found";
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
  ) {
    super(`${resourceType} "${resourceName}" not found`);
  }
}

/** Creating would duplicate a unique resource (ALREADY_EXISTS with ResourceInfo). */
export class AlreadyExistsError extends DomainError {
  readonly kind = "already_exists";
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
    message = `${resourceType} "${resourceName}" already exists`,
  ) {
    super(message);
  }
}

/** The system is not in the state the operation needs, e.g. cancelling a paid order (FAILED_PRECONDITION). */
export class PreconditionError extends DomainError {
  readonly kind = "precondition";
  constructor(
    readonly type: string,
    readonly subject: string,
    description: string,
  ) {
    super(description);
  }
}

/** A concurrent change won; the caller may retry the whole read-modify-write (ABORTED). */
export class ConflictError extends DomainError {
  readonly kind = "conflict";
}

/** A dependency is down; the caller may retry later (UNAVAILABLE with RetryInfo when a delay is known). */
export class UnavailableError extends DomainError {
  readonly kind = "unavailable";
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
