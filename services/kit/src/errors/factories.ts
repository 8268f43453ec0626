import type { ErrorInfo } from "@lattice/proto/google/rpc/error_details";
import type { FieldViolation } from "./domain.js";
import { GrpcError } from "./grpc-error.js";
import { Status } from "./status-codes.js";

/** Builders for the status codes the seed's table uses, each with the google.rpc detail clients expect. */

export function invalidArgument(violations: readonly FieldViolation[], message?: string): GrpcError {
  const text = message ?? violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new GrpcError(Status.INVALID_ARGUMENT, text || "invalid argument", [
    {
      type: "BadRequest",
      value: { fieldViolations: violations.map((v) => ({ ...v, reason: "", localizedMessage: undefined })) },
    },
  ]);
}

export function notFound(resourceType: string, resourceName: string, message?: string): GrpcError {
  return new GrpcError(Status.NOT_FOUND, message ?? `${resourceType} "${resourceName}" not found`, [
    { type: "ResourceInfo", value: { resourceType, resourceName, owner: "", description: "not found" } },
  ]);
}

export function alreadyExists(resourceType: string, resourceName: string, message?: string): GrpcError {
  return new GrpcError(Status.ALREADY_EXISTS, message ?? `${resourceType} "${resourceName}" already exists`, [
    { type: "ResourceInfo", value: { resourceType, resourceName, owner: "", description: "already exists" } },
  ]);
}

export function failedPrecondition(type: string, subject: string, description: string): GrpcError {
  return new GrpcError(Status.FAILED_PRECONDITION, description, [
    { type: "PreconditionFailure", value: { violations: [{ type, subject, description }] } },
  ]);
}

export function aborted(message: string, info?: ErrorInfo): GrpcError {
  return new GrpcError(Status.ABORTED, message, info ? [{ type: "ErrorInfo", value: info }] : []);
}

/** UNAVAILABLE tells clients to retry; RetryInfo says when. */
export function unavailable(message: string, retryAfterMs?: number): GrpcError {
  return new GrpcError(Status.UNAVAILABLE, message, retryAfterMs === undefined ? [] : [retryInfo(retryAfterMs)]);
}

export function resourceExhausted(message: string, retryAfterMs?: number): GrpcError {
  return new GrpcError(Status.RESOURCE_EXHAUSTED, message, retryAfterMs === undefined ? [] : [retryInfo(retryAfterMs)]);
}

export function errorInfo(reason: string, domain: string, metadata: Record<string, string> = {}) {
  return { type: "ErrorInfo", value: { reason, domain, metadata } } as const;
}

function retryInfo(ms: number) {
  const seconds = Math.floor(ms / 1000);
  return { type: "RetryInfo", value: { retryDelay: { seconds, nanos: (ms - seconds * 1000) * 1e6 } } } as const;
}
