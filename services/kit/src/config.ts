import { z } from "zod";
import { securityConfigShape } from "./security/config.js";
import { tracingConfigShape } from "./telemetry/config.js";

/**
 * Settings every service reads from its environment. Services extend this schema with their own keys; the whole
 * configuration is validated once at start, so a typo fails the pod at once instead of at the first request.
 */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const millis = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

export const baseConfigSchema = z.object({
  GRPC_HOST: z.string().min(1).default("0.0.0.0"),
  GRPC_PORT: port(50051),
  /** Plaintext HTTP: /livez, /readyz, /metrics. Kept apart from gRPC so probes never need TLS. */
  ADMIN_HOST: z.string().min(1).default("0.0.0.0"),
  ADMIN_PORT: port(8081),
  /**
   * Plaintext gRPC serving only grpc.health.v1.Health, on ADMIN_HOST: kubelet's `grpc:` probes need a numeric port
   * and cannot speak TLS, so they must not depend on the gRPC port's security settings.
   */
  HEALTH_PORT: port(8091),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** auto: human-readable on a terminal, JSON otherwise (what log collectors want). */
  LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  /**
   * Level of the "finished call" line for calls that succeed; failures are always logged, at a level set by their
   * code. debug by default: at LOG_LEVEL=info successes are then counted in metrics but not logged, because a log
   * line per call costs about a fifth of the throughput of a small unary call (see `npm run bench`). Set info to
   * get an access log.
   */
  LOG_CALLS: z.enum(["trace", "debug", "info", "off"]).default("debug"),
  /** After readiness turns NOT_SERVING, keep serving this long so load balancers stop sending new calls. */
  SHUTDOWN_DRAIN_MS: millis(5_000),
  /** Then stop accepting and let in-flight calls finish for at most this long before cancelling them. */
  SHUTDOWN_TIMEOUT_MS: millis(20_000),
  /**
   * Without a mesh, closing connections after this age (±10% jitter) makes DNS-balanced clients re-resolve and
   * spread onto new pods: a new replica gets calls from every client within about 1.1 x this (see
   * docs/resilience.md). 30 s: reconnecting costs little; at 300 s a scaled-up pod sat idle for minutes.
   */
  GRPC_MAX_CONNECTION_AGE_MS: millis(30_000),
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: millis(30_000),
  GRPC_KEEPALIVE_TIME_MS: millis(60_000),
  GRPC_KEEPALIVE_TIMEOUT_MS: millis(20_000),
  /**
   * How clients this service creates spread calls over a target's addresses. pick_first suits a mesh (its proxy
   * balances per request) and ClusterIP Services; round_robin with a dns:/// target to a headless Service balances
   * over every pod without a mesh.
   */
  GRPC_LB_POLICY: z.enum(["pick_first", "round_robin"]).default("pick_first"),
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** TLS, bearer tokens, rate limits: all off by default (see securityConfigShape and docs/security.md). */
  ...securityConfigShape,
  /** Tracing: the standard OTEL_* variables, off unless an exporter or an OTLP endpoint is set (docs/observability.md). */
  ...tracingConfigShape,
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses `env` against `schema`; throws a ConfigError whose one-line message names every bad key. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join(".");
    const raw = typeof issue.path[0] === "string" ? env[issue.path[0]] : undefined;
    return `${key}: ${issue.message}${raw === undefined ? " (not set)" : ` (got ${JSON.stringify(raw)})`}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

/** EX_CONFIG from sysexits.h: the process was misconfigured, restarting it will not help. */
export const EXIT_CONFIG = 78;

/** loadConfig for a process entry point: a bad value prints one clear line and exits non-zero. */
export function loadConfigOrExit<S extends z.ZodType>(service: string, schema: S, env = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}
