import { z } from "zod";
import { DEFAULT_BREAKER_SETTINGS, type BreakerSettings } from "./circuit-breaker.js";
import { DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS } from "./load-balancing.js";
import { DEFAULT_RETRY_SETTINGS, type RetrySettings } from "./retry-policy.js";

const ms = z.coerce.number().int().min(0);
const onOff = z.enum(["on", "off"]);

/**
 * The settings of the clients a service makes to the services it calls, as configuration keys. Each key is the
 * default for every target; `<PEER>_<KEY>` (e.g. PAYMENT_CLIENT_RETRY_MAX_ATTEMPTS) overrides it for one target.
 * Which methods are retried comes from their contracts (see retryabilityOf), not from here.
 */
export const clientSettingKeys = {
  /** Deadline (ms) of a unary or client-streaming call that inherits none and sets none. */
  CLIENT_TIMEOUT_MS: ms.min(1),
  /** Deadline (ms) of a server- or bidi-streaming call that inherits none and sets none: streams live longer. */
  CLIENT_STREAM_TIMEOUT_MS: ms.min(1),
  /** Attempts per call in all (1 = no retries; at most 5, gRFC A6's cap, which grpc-js enforces). */
  CLIENT_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(5),
  CLIENT_RETRY_INITIAL_BACKOFF_MS: ms.min(1),
  CLIENT_RETRY_MAX_BACKOFF_MS: ms.min(1),
  /** Retry throttling's token bucket (gRFC A6): retries stop once half of it is spent on failures. */
  CLIENT_RETRY_THROTTLING_MAX_TOKENS: z.coerce.number().int().min(1).max(1000),
  /** Hedge reads (methods without side effects) after this long (ms) without an answer; unset: no hedging. */
  CLIENT_HEDGING_DELAY_MS: ms,
  /** Circuit breakers per target and method. */
  CLIENT_BREAKER: onOff,
  CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().min(0).max(100),
  CLIENT_BREAKER_VOLUME_THRESHOLD: z.coerce.number().int().min(1),
  CLIENT_BREAKER_WINDOW_MS: ms.min(100),
  CLIENT_BREAKER_RESET_TIMEOUT_MS: ms.min(1),
  /** Shortest time (ms) between two DNS lookups of a `dns:` target (see ClientOptions.dnsMinResolutionIntervalMs). */
  CLIENT_DNS_MIN_RESOLUTION_INTERVAL_MS: ms,
} as const;

type Key = keyof typeof clientSettingKeys;

const DEFAULTS: Readonly<Record<Exclude<Key, "CLIENT_HEDGING_DELAY_MS">, number | string>> = {
  CLIENT_TIMEOUT_MS: 10_000,
  CLIENT_STREAM_TIMEOUT_MS: 3_600_000,
  CLIENT_RETRY_MAX_ATTEMPTS: DEFAULT_RETRY_SETTINGS.maxAttempts,
  CLIENT_RETRY_INITIAL_BACKOFF_MS: DEFAULT_RETRY_SETTINGS.initialBackoffMs,
  CLIENT_RETRY_MAX_BACKOFF_MS: DEFAULT_RETRY_SETTINGS.maxBackoffMs,
  CLIENT_RETRY_THROTTLING_MAX_TOKENS: DEFAULT_RETRY_SETTINGS.throttling.maxTokens,
  CLIENT_BREAKER: "on",
  CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT: DEFAULT_BREAKER_SETTINGS.errorThresholdPercent,
  CLIENT_BREAKER_VOLUME_THRESHOLD: DEFAULT_BREAKER_SETTINGS.volumeThreshold,
  CLIENT_BREAKER_WINDOW_MS: DEFAULT_BREAKER_SETTINGS.windowMs,
  CLIENT_BREAKER_RESET_TIMEOUT_MS: DEFAULT_BREAKER_SETTINGS.resetTimeoutMs,
  CLIENT_DNS_MIN_RESOLUTION_INTERVAL_MS: DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS,
};

/** The prefix of a target's own keys: "payment" → "PAYMENT_". */
export const targetPrefix = (peer: string) => `${peer.toUpperCase().replaceAll("-", "_")}_`;

/**
 * The configuration keys for clients of `peers`: the defaults, and every key again per target, optional. Numbers in
 * the environment are strings; they are coerced, and a bad one fails the start naming the key.
 */
export function clientConfigShape(peers: readonly string[]): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(clientSettingKeys) as [Key, z.ZodType][]) {
    const fallback = key === "CLIENT_HEDGING_DELAY_MS" ? undefined : DEFAULTS[key];
    shape[key] = fallback === undefined ? schema.optional() : schema.default(fallback);
    for (const peer of peers) shape[targetPrefix(peer) + key] = schema.optional();
  }
  return shape;
}

/** What the clients of one target are configured with. */
export interface TargetClientSettings {
  readonly timeoutMs: number;
  readonly streamTimeoutMs: number;
  readonly dnsMinResolutionIntervalMs: number;
  readonly retry: RetrySettings;
  /** undefined: no circuit breakers. */
  readonly breaker: BreakerSettings | undefined;
}

/** The settings for calls to `peer`, from a configuration parsed with clientConfigShape. */
export function clientSettingsFor(config: Readonly<Record<string, unknown>>, peer: string): TargetClientSettings {
  const value = (key: Key): unknown => config[targetPrefix(peer) + key] ?? config[key];
  const number = (key: Key) => value(key) as number;
  return {
    timeoutMs: number("CLIENT_TIMEOUT_MS"),
    streamTimeoutMs: number("CLIENT_STREAM_TIMEOUT_MS"),
    dnsMinResolutionIntervalMs: number("CLIENT_DNS_MIN_RESOLUTION_INTERVAL_MS"),
    retry: {
      ...DEFAULT_RETRY_SETTINGS,
      maxAttempts: number("CLIENT_RETRY_MAX_ATTEMPTS"),
      initialBackoffMs: number("CLIENT_RETRY_INITIAL_BACKOFF_MS"),
      maxBackoffMs: number("CLIENT_RETRY_MAX_BACKOFF_MS"),
      throttling: {
        ...DEFAULT_RETRY_SETTINGS.throttling,
        maxTokens: number("CLIENT_RETRY_THROTTLING_MAX_TOKENS"),
      },
      hedgingDelayMs: value("CLIENT_HEDGING_DELAY_MS") as number | undefined,
    },
    breaker:
      value("CLIENT_BREAKER") === "off"
        ? undefined
        : {
            ...DEFAULT_BREAKER_SETTINGS,
            errorThresholdPercent: number("CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT"),
            volumeThreshold: number("CLIENT_BREAKER_VOLUME_THRESHOLD"),
            windowMs: number("CLIENT_BREAKER_WINDOW_MS"),
            resetTimeoutMs: number("CLIENT_BREAKER_RESET_TIMEOUT_MS"),
          },
  };
}
