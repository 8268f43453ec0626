import { createContextKey } from "../context/context-values.js";
import type { ErrorDetail } from "../errors/details.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import type { CallContext } from "../rpc/call-context.js";
import { KeysUnavailable, TokenRejected, type Principal, type TokenVerifier } from "./jwt.js";
import { DEFAULT_POLICY, type MethodPolicy } from "./method-policies.js";
import { isCaller } from "./peer-identity.js";

/**
 * The principal of the call's verified bearer token; undefined when the call carried none (an anonymous method)
 * or tokens are not verified. Set by the kit's auth interceptor, read by handlers and by Lattice clients (which
 * pass the token on).
 */
export const PRINCIPAL = createContextKey<Principal | undefined>("lattice.principal", undefined);

/** The header bearer tokens travel in. Its value is never logged. */
export const AUTHORIZATION_HEADER = "authorization";

/** ErrorInfo domain of the kit's authentication and authorization failures. */
export const AUTH_ERROR_DOMAIN = "auth.lattice";

export interface AuthOptions {
  /** Undefined: tokens are not verified (no key source set), so token rules are not enforced either. */
  readonly verifier: TokenVerifier | undefined;
  /** Method policies by path (methodPolicies()); methods without one get DEFAULT_POLICY. */
  readonly policies: ReadonlyMap<string, MethodPolicy>;
  /** Whether `callers` rules are enforced: only when peers have verified identities (TLS_MODE=mtls). */
  readonly enforceCallers: boolean;
}

/**
 * Authentication and authorization of every call, from the method's declared policy:
 *
 * 1. With a verifier, the `authorization: Bearer <JWT>` header is verified; a missing token (unless the method
 *    allows anonymous callers), a malformed, badly signed, expired, not yet valid, or wrongly addressed (issuer,
 *    audience) one is UNAUTHENTICATED with ErrorInfo saying which. The principal goes in ctx.values (PRINCIPAL).
 * 2. Roles (any one of) and scopes (every one of) the method requires, from the token: PERMISSION_DENIED.
 * 3. The calling service (ctx.peerIdentity, from its client certificate) must be one of the method's `callers`:
 *    PERMISSION_DENIED.
 *
 * A method with nothing to check gets nothing in its chain. Apply it to every method but health and reflection
 * (`selectMethods(not(infrastructureMethods), …)`), as the server does.
 */
export function authInterceptor(options: AuthOptions): Interceptor {
  const { verifier } = options;
  return (next, method) => {
    const policy = options.policies.get(method.path) ?? DEFAULT_POLICY;
    const callers = options.enforceCallers && policy.callers.length > 0 ? policy.callers : undefined;
    if (!verifier && !callers) return next;
    const tokenRequired = verifier !== undefined && !policy.allowAnonymous;
    const { roles, scopes } = policy;
    /** Checks what the principal (undefined: no token) may do, then runs the rest of the call. */
    const authorize = (principal: Principal | undefined, input: unknown, ctx: CallContext) => {
      if (principal) {
        ctx.values.set(PRINCIPAL, principal);
        if (roles.length > 0 && !roles.some((role) => principal.roles.includes(role)))
          throw denied("MISSING_ROLE", `${method.name} needs one of the roles ${roles.join(", ")}`);
        const missing = scopes.filter((scope) => !principal.scopes.includes(scope));
        if (missing.length > 0) throw denied("MISSING_SCOPE", `${method.name} needs the scopes ${missing.join(", ")}`);
      } else if (verifier && (roles.length > 0 || scopes.length > 0)) {
        // An anonymous method that also names roles: without a token there is nothing to grant them.
        throw unauthenticated("TOKEN_MISSING", "a bearer token is required");
      }
      if (callers && !isCaller(ctx.peerIdentity, callers)) {
        const who = ctx.peerIdentity?.service ?? "an unidentified peer";
        throw denied("CALLER_NOT_ALLOWED", `${method.name} may be called by ${callers.join(", ")}, not ${who}`);
      }
      return next(input, ctx);
    };
    // Not async: a call whose token was verified lately goes on at once, without a promise of its own (what it
    // throws, compose turns into the call's rejection). Only a token to verify waits for the verifier.
    return (input, ctx) => {
      if (!verifier) return authorize(undefined, input, ctx);
      const token = bearerToken(ctx, tokenRequired);
      if (token === undefined) return authorize(undefined, input, ctx);
      const known = verifier.known?.(token);
      if (known) return authorize(known, input, ctx);
      return verify(ctx, verifier, token).then((principal) => authorize(principal, input, ctx));
    };
  };
}

/** The call's bearer token; undefined without one when none is required. Throws UNAUTHENTICATED when malformed. */
function bearerToken(ctx: CallContext, required: boolean): string | undefined {
  const values = ctx.requestHeader.get(AUTHORIZATION_HEADER);
  if (values.length === 0) {
    if (required) throw unauthenticated("TOKEN_MISSING", "a bearer token is required (authorization: Bearer …)");
    return undefined;
  }
  if (values.length > 1) throw unauthenticated("TOKEN_MALFORMED", "more than one authorization header");
  const match = typeof values[0] === "string" ? /^Bearer +([^ ]+) *$/i.exec(values[0]) : null;
  if (!match) throw unauthenticated("TOKEN_MALFORMED", "authorization must be a Bearer token");
  return match[1]!;
}

/** The principal of a token the verifier has to check. */
async function verify(ctx: CallContext, verifier: TokenVerifier, token: string): Promise<Principal> {
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof TokenRejected) throw unauthenticated(error.reason, error.message);
    if (error instanceof KeysUnavailable) {
      ctx.log.warn({ err: error }, "cannot verify bearer tokens: the signing keys are unavailable");
      throw new GrpcError(Status.UNAVAILABLE, "cannot verify bearer tokens right now", [], { cause: error });
    }
    throw error;
  }
}

function errorInfo(reason: string): ErrorDetail {
  return { type: "ErrorInfo", value: { reason, domain: AUTH_ERROR_DOMAIN, metadata: {} } };
}

function unauthenticated(reason: string, message: string): GrpcError {
  return new GrpcError(Status.UNAUTHENTICATED, message, [errorInfo(reason)]);
}

function denied(reason: string, message: string): GrpcError {
  return new GrpcError(Status.PERMISSION_DENIED, message, [errorInfo(reason)]);
}

/** The principal of the call being handled, if its token was verified. */
export function principalOf(ctx: Pick<CallContext, "values">): Principal | undefined {
  return ctx.values.get(PRINCIPAL);
}
