import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";

export const ISSUER = "https://issuer.lattice.test";
export const AUDIENCE = "lattice";

/** A signing key pair made for one test run, with its public half as a JWKS file and a PEM file. */
export interface TestKeys {
  readonly privateKey: CryptoKey;
  readonly jwks: { keys: Record<string, unknown>[] };
  readonly jwksFile: string;
  readonly pemFile: string;
  readonly kid: string;
  remove(): void;
}

export async function testKeys(kid = "test-key-1"): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const dir = mkdtempSync(join(tmpdir(), "lattice-jwt-"));
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };
  const jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, JSON.stringify(jwks));
  const pemFile = join(dir, "public.pem");
  writeFileSync(pemFile, await exportSPKI(publicKey));
  return { privateKey, jwks, jwksFile, pemFile, kid, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TokenOptions {
  readonly claims?: JWTPayload;
  readonly subject?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds from now; negative for a token that has expired. */
  readonly expiresIn?: number;
  /** Seconds from now of nbf. */
  readonly notBefore?: number;
  readonly kid?: string;
}

/** A signed ES256 token, valid for the test issuer and audience for 5 minutes unless told otherwise. */
export async function signToken(keys: Pick<TestKeys, "privateKey" | "kid">, options: TokenOptions = {}) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: "ES256", kid: options.kid ?? keys.kid })
    .setSubject(options.subject ?? "ada")
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(keys.privateKey);
}

/** The environment turning JWT verification on with `keys` (the JWKS file by default). */
export function jwtEnv(keys: TestKeys, source: "file" | "pem" = "file"): Record<string, string> {
  return {
    ...(source === "file" ? { JWT_JWKS_FILE: keys.jwksFile } : { JWT_PUBLIC_KEY_FILE: keys.pemFile }),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  };
}

export const bearer = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });
