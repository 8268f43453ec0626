/**
 * The bearer token every Greet request carries (ES256, signed for the benchmark) and the JWKS file the servers
 * that verify tokens read: the same request bytes reach every server, and only those with auth in their chain pay
 * for verifying it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface BenchToken {
  /** The compact JWT. */
  readonly token: string;
  /** The kit's settings that verify it (JWT_JWKS_FILE, JWT_ISSUER, JWT_AUDIENCE). */
  readonly env: Readonly<Record<string, string>>;
}

/** Makes a key, writes its JWKS into `dir` and signs a token valid for two hours. */
export async function benchToken(dir: string): Promise<BenchToken> {
  const keys = await generateKeyPair("ES256", { extractable: true });
  const jwksFile = join(dir, "jwks.json");
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: "bench", alg: "ES256" };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const token = await new SignJWT({ roles: ["user"] })
    .setProtectedHeader({ alg: "ES256", kid: "bench" })
    .setSubject("bench")
    .setIssuer("https://issuer.bench")
    .setAudience("lattice")
    .setExpirationTime("2h")
    .sign(keys.privateKey);
  return {
    token,
    env: { JWT_JWKS_FILE: jwksFile, JWT_ISSUER: "https://issuer.bench", JWT_AUDIENCE: "lattice" },
  };
}
