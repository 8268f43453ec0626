import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { MethodInfo } from "./method.js";

/**
 * What a handler knows about the call besides its messages. The service layer receives only `signal` from it
 * (business code stays free of transport types); interceptors and handlers may read the rest.
 */
export interface CallContext {
  readonly method: MethodInfo;
  /** Request headers. */
  readonly metadata: Metadata;
  /** The caller's address, e.g. "127.0.0.1:53412" or a unix socket path. */
  readonly peer: string;
  /** When the caller gives up; undefined when it set no deadline. */
  readonly deadline: Date | undefined;
  /** Aborts when the caller cancels or its deadline passes; pass it to every await that can take long. */
  readonly signal: AbortSignal;
  /** True once the caller has gone (cancelled or deadline passed). */
  readonly cancelled: boolean;
  /** Logger bound to this call's service, method and request id. */
  readonly log: Logger;
  /** The request for unary and server-streaming calls; undefined for calls that stream requests. */
  readonly request: unknown;
  /** Values interceptors attach for those after them (e.g. the authenticated principal). */
  readonly values: Map<symbol, unknown>;
}

/**
 * How early before the server's deadline a cancellation still counts as the deadline. The client's timer starts
 * before its request is sent and the server's when the request arrives, so a client giving up at its deadline
 * cancels the call a little before the server's copy of that deadline passes; more so on a loaded machine.
 */
const DEADLINE_SKEW_MS = 100;

/** The error a call ends with once its caller has gone: DEADLINE_EXCEEDED or CANCELLED. */
export function cancellationError(ctx: Pick<CallContext, "deadline">): GrpcError {
  const expired = ctx.deadline !== undefined && ctx.deadline.getTime() - DEADLINE_SKEW_MS <= Date.now();
  return expired
    ? new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded")
    : new GrpcError(Status.CANCELLED, "cancelled by the client");
}
