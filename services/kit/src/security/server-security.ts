import type { Registry } from "prom-client";
import type { Interceptor } from "../interceptors/interceptor.js";
import { infrastructureMethods, not, selectMethods } from "../interceptors/select.js";
import type { Logger } from "../logger.js";
import { authInterceptor } from "./auth-interceptor.js";
import type { SecurityConfig } from "./config.js";
import { createTokenVerifier } from "./jwt.js";
import { methodPolicies, type MethodPolicy } from "./method-policies.js";
import { RateLimitMetrics, rateLimitInterceptor } from "./rate-limit.js";

export interface ServerSecurityOptions {
  readonly config: SecurityConfig;
  /** Where the rate-limit series go (the server's metrics registry). */
  readonly registry: Registry;
  readonly logger: Logger;
  /** Method policies by path; read from the contracts' descriptor set by default. */
  readonly policies?: ReadonlyMap<string, MethodPolicy>;
}

/**
 * The kit's security interceptors for a server's configuration, in chain order: authentication and authorization,
 * then rate limits. Health and reflection are exempt through the method selector, like metrics and logging. Logs
 * once what is enforced, so a service that runs without it says so.
 */
export function serverSecurityInterceptors(options: ServerSecurityOptions): Interceptor[] {
  const { config, logger } = options;
  const traffic = not(infrastructureMethods);
  const verifier = createTokenVerifier(config);
  const enforceCallers = config.TLS_MODE === "mtls";
  const interceptors: Interceptor[] = [];
  if (verifier || enforceCallers) {
    const policies = options.policies ?? methodPolicies();
    interceptors.push(selectMethods(traffic, authInterceptor({ verifier, policies, enforceCallers })));
  }
  if (config.RATE_LIMITS.length > 0)
    interceptors.push(
      selectMethods(
        traffic,
        rateLimitInterceptor(config.RATE_LIMITS, new RateLimitMetrics(options.registry), config.MESH_IDENTITY),
      ),
    );
  logger.info(
    {
      tls: config.TLS_MODE,
      bearer_tokens: verifier ? "verified" : "not verified (no JWT key source set)",
      callers: enforceCallers ? "enforced from client certificates" : "not enforced (TLS_MODE is not mtls)",
      rate_limits: config.RATE_LIMITS.map((rule) => `${rule.selector}=${rule.perSecond}:${rule.burst}`),
      mesh_identity: config.MESH_IDENTITY,
    },
    "security",
  );
  return interceptors;
}
