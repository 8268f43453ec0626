import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import type { SecurityConfig } from "./config.js";

/** The end user (or client) a verified bearer token speaks for. */
export interface Principal {
  /** The token's `sub`; "" when it has none. */
  readonly subject: string;
  /** From the claim JWT_ROLES_CLAIM names (an array of strings, or one space-separated string). */
  readonly roles: readonly string[];
  /** From `scope` (space-separated) or `scp` (array or string). */
  readonly scopes: readonly string[];
  /** Every claim of the verified token. */
  readonly claims: Readonly<JWTPayload>;
  /** The token itself, which Lattice clients pass on to the services this one calls (they verify it again). */
  readonly token: string;
}

/**
 * Why a token was refused, in words fit for the caller (never the token itself). `reason` is the ErrorInfo reason
 * sent with UNAUTHENTICATED, e.g. "TOKEN_EXPIRED".
 */
export class TokenRejected extends Error {
  override readonly name = "TokenRejected";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The keys could not be had (a JWKS URL that does not answer): the server's problem, not the caller's. */
export class KeysUnavailable extends Error {
  override readonly name = "KeysUnavailable";
}

export interface TokenVerifier {
  /** The principal of a valid token; rejects with TokenRejected or KeysUnavailable. */
  verify(token: string): Promise<Principal>;
  /**
   * The principal of `token` when it was verified lately and may still be trusted without checking it again (see
   * the cache of verified tokens), else undefined: then call verify. Synchronous, so the calls that carry a known
   * token pay no promise for it.
   */
  known?(token: string): Principal | undefined;
}

type JwtConfig = Pick<
  SecurityConfig,
  | "JWT_JWKS_URL"
  | "JWT_JWKS_FILE"
  | "JWT_PUBLIC_KEY_FILE"
  | "JWT_ISSUER"
  | "JWT_AUDIENCE"
  | "JWT_ALGORITHMS"
  | "JWT_CLOCK_SKEW_S"
  | "JWT_ROLES_CLAIM"
  | "JWT_CACHE_SIZE"
  | "JWT_CACHE_TTL_MS"
>;

/** How often a JWKS file is checked for a change (its mtime), so rotated keys are picked up without a restart. */
const JWKS_FILE_CHECK_MS = 10_000;

/**
 * The verifier the configuration asks for, or undefined when no key source is set (JWT verification off).
 * Tokens must be signed by a configured key with an accepted algorithm, carry the configured `iss` and `aud`, an
 * `exp` in the future and no `nbf` in the future (both within JWT_CLOCK_SKEW_S).
 */
export function createTokenVerifier(config: JwtConfig): TokenVerifier | undefined {
  const keys = keySource(config);
  if (!keys) return undefined;
  const { JWT_ISSUER: issuer, JWT_AUDIENCE: audience } = config;
  if (!issuer || !audience) throw new Error("JWT verification needs JWT_ISSUER and JWT_AUDIENCE");
  const options = {
    issuer,
    audience,
    algorithms: config.JWT_ALGORITHMS,
    clockTolerance: config.JWT_CLOCK_SKEW_S,
    requiredClaims: ["exp"],
  };
  const rolesPath = config.JWT_ROLES_CLAIM.split(".");
  const cache = new VerifiedTokens(config.JWT_CACHE_SIZE, config.JWT_CACHE_TTL_MS, config.JWT_CLOCK_SKEW_S);
  return {
    known: (token) => cache.get(token),
    async verify(token) {
      const known = cache.get(token);
      if (known) return known;
      let payload: JWTPayload;
      try {
        payload = (
          await (typeof keys === "function" ? jwtVerify(token, keys, options) : jwtVerify(token, keys, options))
        ).payload;
      } catch (error) {
        throw rejection(error);
      }
      const principal: Principal = {
        subject: payload.sub ?? "",
        roles: strings(claimAt(payload, rolesPath)),
        scopes: [...strings(payload["scope"]), ...strings(payload["scp"])],
        claims: payload,
        token,
      };
      cache.set(token, principal);
      return principal;
    },
  };
}

/**
 * Principals of tokens verified lately, by the token's exact text. A signature check costs about 80 µs of CPU
 * (ES256; measured with `npm run bench -- --auth`), several times a whole small call, and clients send the same
 * token for many calls. An entry is served for at most `ttlMs` (so a key removed from the JWKS stops working within
 * it) and never once the token has expired; the oldest entry goes when the cache is full.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedToken>();
  /**
   * The entries met last, by the last characters of their token (a JWT ends with its signature: as good as random).
   * Each request brings its token as a new string, whose hash a Map lookup computes over every character (a few
   * hundred of them, a large part of a cached call's cost); a slot is checked by comparing the strings instead.
   */
  private readonly recent: (VerifiedToken | undefined)[] = new Array<VerifiedToken | undefined>(RECENT_SLOTS);

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
    private readonly skewS: number,
  ) {}

  get(token: string): Principal | undefined {
    const slot = recentSlot(token);
    const seen = this.recent[slot];
    const entry = seen?.token === token ? seen : this.entries.get(token);
    if (!entry) return undefined;
    if (Date.now() < entry.until) {
      this.recent[slot] = entry;
      return entry.principal;
    }
    this.forget(entry);
    return undefined;
  }

  set(token: string, principal: Principal): void {
    if (this.size === 0 || this.ttlMs === 0) return;
    const exp = principal.claims.exp;
    if (exp === undefined) return;
    const until = Math.min(Date.now() + this.ttlMs, (exp + this.skewS) * 1000);
    if (this.entries.size >= this.size) this.forget(this.entries.values().next().value!);
    this.entries.set(token, { token, principal, until });
  }

  private forget(entry: VerifiedToken): void {
    this.entries.delete(entry.token);
    const slot = recentSlot(entry.token);
    if (this.recent[slot] === entry) this.recent[slot] = undefined;
  }
}

interface VerifiedToken {
  readonly token: string;
  readonly principal: Principal;
  /** Epoch milliseconds after which the token is verified again. */
  readonly until: number;
}

const RECENT_SLOTS = 256;

/** A slot of VerifiedTokens.recent for `token`, from its last three characters. */
function recentSlot(token: string): number {
  const n = token.length;
  return (
    (token.charCodeAt(n - 1) ^ (token.charCodeAt(n - 2) << 3) ^ (token.charCodeAt(n - 3) << 6)) & (RECENT_SLOTS - 1)
  );
}

function keySource(config: JwtConfig): JWTVerifyGetKey | KeyObject | undefined {
  if (config.JWT_JWKS_URL) return remoteJwks(new URL(config.JWT_JWKS_URL));
  if (config.JWT_JWKS_FILE) return jwksFile(config.JWT_JWKS_FILE);
  if (config.JWT_PUBLIC_KEY_FILE) return createPublicKey(readFileSync(config.JWT_PUBLIC_KEY_FILE));
  return undefined;
}

/**
 * The JWKS at `url`, fetched on first use and cached by jose (refetched at most every 30 s when a token names a key
 * it does not have, and after 10 minutes). A fetch that fails is KeysUnavailable: the caller did nothing wrong.
 */
function remoteJwks(url: URL): JWTVerifyGetKey {
  const keys = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeysUnavailable(`token signing keys unavailable from ${url.href}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
}

/** A JWKS read from a file at start (so a bad file fails the start) and again when its mtime changes. */
function jwksFile(path: string): JWTVerifyGetKey {
  const load = () => createLocalJWKSet(JSON.parse(readFileSync(path, "utf8")) as JSONWebKeySet);
  let mtime = statSync(path).mtimeMs;
  let keys = load();
  let checked = Date.now();
  return (header, token) => {
    if (Date.now() - checked > JWKS_FILE_CHECK_MS) {
      checked = Date.now();
      try {
        const now = statSync(path).mtimeMs;
        if (now !== mtime) {
          keys = load();
          mtime = now;
        }
      } catch {
        // Mid-rotation (or gone): keep the keys read last until the file is readable again.
      }
    }
    return keys(header, token);
  };
}

/** The claim at a dotted path ("realm_access.roles"), or undefined. */
function claimAt(payload: JWTPayload, path: readonly string[]): unknown {
  let value: unknown = payload;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter((s) => s !== "");
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string");
  return [];
}

/** What the caller is told for each way a token fails; anything unrecognised is simply "invalid". */
function rejection(error: unknown): Error {
  if (error instanceof KeysUnavailable) return error;
  if (error instanceof errors.JWTExpired) return new TokenRejected("TOKEN_EXPIRED", "bearer token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "iss":
        return new TokenRejected("TOKEN_ISSUER", "bearer token issuer is not accepted");
      case "aud":
        return new TokenRejected("TOKEN_AUDIENCE", "bearer token is not meant for this service (audience)");
      case "nbf":
        return new TokenRejected("TOKEN_NOT_YET_VALID", "bearer token is not valid yet");
      default:
        return new TokenRejected("TOKEN_CLAIMS", `bearer token claim ${error.claim} is missing or invalid`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRejected("TOKEN_SIGNATURE", "bearer token signature is invalid");
  if (error instanceof errors.JWKSNoMatchingKey)
    return new TokenRejected("TOKEN_SIGNATURE", "bearer token is signed by an unknown key");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenRejected("TOKEN_ALGORITHM", "bearer token algorithm is not accepted");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return new TokenRejected("TOKEN_MALFORMED", "bearer token is malformed");
  return new TokenRejected("TOKEN_INVALID", "bearer token is invalid");
}
