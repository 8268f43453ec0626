import { z } from "zod";
import { parseRateLimits } from "./rate-limit-rules.js";

const millis = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const optionalText = z.string().min(1).optional();

/**
 * Transport security, authentication, authorization and rate limits: every key is off (or empty) by default, so a
 * service runs with no certificates and no keys, and turning a feature on is setting its keys (docs/security.md).
 * Part of baseConfigSchema; what one key requires of another is checked by securityConfigIssues.
 */
export const securityConfigShape = {
  /**
   * plaintext: no TLS (development, or under Linkerd, whose proxies do mTLS: TLS in the app would make the traffic
   * opaque to the proxy). tls: the server presents TLS_CERT_FILE; clients verify servers with TLS_CA_FILE. mtls: as
   * tls, and the server requires a client certificate issued by TLS_CA_FILE's CAs; clients present TLS_CERT_FILE.
   */
  TLS_MODE: z.enum(["plaintext", "tls", "mtls"]).default("plaintext"),
  /** PEM certificate chain and private key (cert-manager's tls.crt and tls.key), for the server and for clients. */
  TLS_CERT_FILE: optionalText,
  TLS_KEY_FILE: optionalText,
  /** PEM bundle of the CAs peers' certificates must chain to (cert-manager's ca.crt, or a trust-manager bundle). */
  TLS_CA_FILE: optionalText,
  /** How often the three files are read again: a rotated certificate is used from the next handshake on. */
  TLS_REFRESH_MS: z.coerce.number().int().min(100).default(60_000),
  /** How long start waits for the files to be readable and valid before it fails (readiness waits with it). */
  TLS_LOAD_TIMEOUT_MS: millis(30_000),

  /** Where the keys that sign bearer tokens come from; at most one. Setting one turns JWT verification on. */
  JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_JWKS_FILE: optionalText,
  /** A PEM public key (SPKI) or certificate. */
  JWT_PUBLIC_KEY_FILE: optionalText,
  /** Required with a key source: the `iss` and `aud` every token must carry. */
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  /** Signature algorithms accepted, comma-separated; "none" and HMAC are never accepted from a public key. */
  JWT_ALGORITHMS: z
    .string()
    .default("RS256,PS256,ES256,EdDSA")
    .transform((text) => text.split(",").map((alg) => alg.trim()))
    .pipe(z.array(z.string().regex(/^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/, "not an asymmetric JWS algorithm"))),
  /** Seconds of clock difference tolerated on exp, nbf and iat. */
  JWT_CLOCK_SKEW_S: z.coerce.number().int().min(0).max(300).default(30),
  /** The claim holding the caller's roles: an array of strings, or a dotted path such as realm_access.roles. */
  JWT_ROLES_CLAIM: z.string().min(1).default("roles"),
  /**
   * Verified tokens remembered (by their exact text) so a client reusing its token pays the signature check once;
   * 0 turns the cache off. An entry is used for at most JWT_CACHE_TTL_MS and never past the token's own expiry.
   */
  JWT_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  JWT_CACHE_TTL_MS: z.coerce.number().int().min(0).default(60_000),

  /**
   * none: callers are identified by their token, else their client certificate, else their address. linkerd: under
   * Linkerd, whose proxy is the only way in and sets `l5d-client-id` from the mesh's mutual TLS (removing it from
   * anything else), a caller without a token is identified by that header's workload identity before its address
   * (which behind the proxy is the proxy's own). Rate limits use it; `callers` rules stay with Linkerd's policy.
   * Needs TLS_MODE=plaintext: through app TLS the proxy can neither read nor remove the header.
   */
  MESH_IDENTITY: z.enum(["none", "linkerd"]).default("none"),
  /**
   * Token buckets per caller and method: comma-separated `<method>=<tokens per second>[:<burst>]`, where method is
   * "*" (every method without a rule of its own), a service ("lattice.order.v1.OrderService/*") or a method
   * ("lattice.payment.v1.PaymentService/Charge"). Empty: no limits.
   */
  RATE_LIMITS: z
    .string()
    .default("")
    .transform((text, ctx) => {
      try {
        return parseRateLimits(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
};

export type SecurityConfig = z.infer<z.ZodObject<typeof securityConfigShape>>;

/** What one security key requires of another, as config issues (path = the key to set). */
export function securityConfigIssues(config: SecurityConfig): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (config.TLS_MODE !== "plaintext") {
    for (const key of ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"] as const)
      if (!config[key]) issues.push({ path: key, message: `required when TLS_MODE is ${config.TLS_MODE}` });
  }
  if (config.MESH_IDENTITY === "linkerd" && config.TLS_MODE !== "plaintext")
    issues.push({
      path: "MESH_IDENTITY",
      message: `linkerd needs TLS_MODE=plaintext: through app TLS (${config.TLS_MODE}) Linkerd's proxy cannot remove a forged l5d-client-id`,
    });
  const sources = (["JWT_JWKS_URL", "JWT_JWKS_FILE", "JWT_PUBLIC_KEY_FILE"] as const).filter((key) => config[key]);
  if (sources.length > 1)
    issues.push({ path: sources[1]!, message: `set only one of JWT_JWKS_URL, JWT_JWKS_FILE, JWT_PUBLIC_KEY_FILE` });
  if (sources.length > 0) {
    for (const key of ["JWT_ISSUER", "JWT_AUDIENCE"] as const)
      if (!config[key]) issues.push({ path: key, message: `required when ${sources[0]!} is set` });
  }
  return issues;
}

/** Adds securityConfigIssues to a zod refinement context. */
export function refineSecurityConfig(config: SecurityConfig, ctx: z.RefinementCtx): void {
  for (const issue of securityConfigIssues(config))
    ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
}
