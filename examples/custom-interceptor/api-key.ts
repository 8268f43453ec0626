import { createContextKey, GrpcError, Status, type Interceptor } from "@lattice/kit";

/** The request header that carries a caller's API key. */
export const API_KEY_HEADER = "x-api-key";

/** Who is calling, as the key check found out; handlers read it with `ctx.values.get(CALLER)`. */
export const CALLER = createContextKey<string | undefined>("caller", undefined);

/**
 * Server interceptor: refuses a call whose x-api-key is missing or unknown (UNAUTHENTICATED) before the handler
 * runs, and tells the handler whose key it was. `owners` maps each key to its owner's name.
 */
export function requireApiKey(owners: ReadonlyMap<string, string>): Interceptor {
  return (next) => async (input, ctx) => {
    const key = ctx.requestHeader.get(API_KEY_HEADER)[0];
    const owner = typeof key === "string" ? owners.get(key) : undefined;
    if (owner === undefined) throw new GrpcError(Status.UNAUTHENTICATED, `missing or unknown ${API_KEY_HEADER}`);
    ctx.values.set(CALLER, owner);
    return next(input, ctx);
  };
}

/** Client interceptor: sends `key` in x-api-key on every call of the client it is given to. */
export function sendApiKey(key: string): Interceptor {
  return (next) => (input, ctx) => {
    ctx.requestHeader.set(API_KEY_HEADER, key);
    return next(input, ctx);
  };
}
