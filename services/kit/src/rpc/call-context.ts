import type { Metadata } from "@grpc/grpc-js";
import type { ContextValues } from "../context/context-values.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { Logger } from "../logger.js";
import type { PeerIdentity } from "../security/peer-identity.js";
import type { MethodInfo } from "./method.js";

/** Which end of a call a context belongs to. */
export type CallSide = "server" | "client";

/**
 * One call as interceptors and handlers see it, on the server and on the client alike (the shape of connect-es's
 * HandlerContext and request, over grpc-js). The service layer gets only `signal` from it: business code stays free
 * of transport types.
 */
export interface CallContext {
  readonly side: CallSide;
  readonly method: MethodInfo;
  /** Request headers: as received (server), or to be sent — interceptors may add to them (client). */
  readonly requestHeader: Metadata;
  /**
   * Response headers. Server: sent with the first response message (or with the status when there is none); set
   * them before that. Client: filled in when they arrive.
   */
  readonly responseHeader: Metadata;
  /** Response trailers, sent (server) or received (client) with the status, also when the call fails. */
  readonly responseTrailer: Metadata;
  /** When the call gives up; undefined when it has no deadline. */
  readonly deadline: Date | undefined;
  /** Aborts when the call ends early: the caller cancelled or its deadline passed. Pass it to every long await. */
  readonly signal: AbortSignal;
  /** True once the call has ended early (cancelled, or its deadline passed). */
  readonly cancelled: boolean;
  /** Server: the caller's address, e.g. "127.0.0.1:53412". Client: the target dialed, e.g. "dns:///user:50051". */
  readonly peer: string;
  /**
   * Server: the caller's identity from the client certificate the TLS handshake verified (TLS_MODE=mtls): its DNS
   * names, URIs, SPIFFE ID and the Lattice service it names; undefined over plaintext or without a client
   * certificate. Never taken from request headers. Client: undefined.
   */
  readonly peerIdentity: PeerIdentity | undefined;
  /**
   * The request id. Server: the caller's `x-request-id` when it sent a usable one (1 to 128 printable ASCII
   * characters), else a UUID made on first use — so the first Lattice service a request reaches is its edge. It is on
   * every log line of the call (`request_id`), and Lattice clients forward it on every call made while handling this
   * one. Client: the `x-request-id` the call sends, or "" when it sends none.
   */
  readonly requestId: string;
  /** Logger bound to this call's service, method and request id. */
  readonly log: Logger;
  /** Typed values interceptors attach for those after them (see createContextKey). */
  readonly values: ContextValues;
}

/** What an interceptor may change when it hands a call on (`next(input, deriveCall(ctx, { deadline }))`). */
export interface CallOverrides {
  readonly deadline?: Date | undefined;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/**
 * The same call with some properties replaced; everything else (headers, values, lazily built state) is shared
 * with the original, so what the rest of the chain sets is seen by those before it.
 */
export function deriveCall(ctx: CallContext, overrides: CallOverrides): CallContext {
  const derived = Object.create(ctx) as CallContext;
  for (const [key, value] of Object.entries(overrides))
    Object.defineProperty(derived, key, { value, enumerable: true });
  if (overrides.signal) Object.defineProperty(derived, "cancelled", { get: () => overrides.signal!.aborted });
  return derived;
}

/** Milliseconds left before `deadline` (never negative); undefined without a deadline. */
export function remainingMs(deadline: Date | undefined, now = Date.now()): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline.getTime() - now);
}

/**
 * How early before the server's deadline a cancellation still counts as the deadline. The client's timer starts
 * before its request is sent and the server's when the request arrives, so a client giving up at its deadline
 * cancels the call a little before the server's copy of that deadline passes; more so on a loaded machine.
 */
const DEADLINE_SKEW_MS = 100;

/** The error a call ends with once it has ended early: DEADLINE_EXCEEDED or CANCELLED. */
export function cancellationError(ctx: Pick<CallContext, "deadline" | "side">): GrpcError {
  const expired = ctx.deadline !== undefined && ctx.deadline.getTime() - DEADLINE_SKEW_MS <= Date.now();
  if (expired) return new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded");
  return new GrpcError(Status.CANCELLED, ctx.side === "server" ? "cancelled by the client" : "call cancelled");
}
