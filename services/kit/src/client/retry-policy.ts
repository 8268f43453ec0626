import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { FileRegistry } from "@bufbuild/protobuf";
import { codeName, Status } from "../errors/status-codes.js";
import type { MethodInfo } from "../rpc/method.js";

/**
 * How safely a method can be sent again, read from its contract:
 * - "no-side-effects": `option idempotency_level = NO_SIDE_EFFECTS` (reads): retried, and hedged when hedging is on;
 * - "idempotent": `option idempotency_level = IDEMPOTENT`: retried;
 * - "idempotency-key": its request has an `idempotency_key` field, which Lattice servers require and de-duplicate
 *   by, so every request that can have an effect carries one (e.g. PaymentService.Charge): retried;
 * - "unsafe": anything else (e.g. CreateOrder): never sent twice by the client.
 */
export type Retryability = "no-side-effects" | "idempotent" | "idempotency-key" | "unsafe";

export function retryabilityOf(registry: FileRegistry, method: MethodInfo): Retryability {
  const service = registry.getService(method.service);
  const descriptor = service?.methods.find((m) => m.name === method.name);
  if (!descriptor) return "unsafe";
  if (descriptor.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return "no-side-effects";
  if (descriptor.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT) return "idempotent";
  if (descriptor.input.fields.some((field) => field.name === "idempotency_key")) return "idempotency-key";
  return "unsafe";
}

/** Retries of one client (gRFC A6), the same for every retryable method of its target. */
export interface RetrySettings {
  /** Attempts in all, the first included; 1 turns retries off. At most 5 (gRFC A6's cap, which grpc-js enforces). */
  readonly maxAttempts: number;
  /** Backoff before the first retry (ms); each next one is multiplied by 2 up to maxBackoffMs, with A6's jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Codes worth another attempt. UNAVAILABLE by default: the request was not processed (or may be, safely). */
  readonly retryableCodes: readonly Status[];
  /**
   * Hedging for methods without side effects: send another attempt after this long (ms) without an answer, up to
   * maxAttempts, and take the first answer. Undefined (the default) turns it off.
   */
  readonly hedgingDelayMs?: number;
  /**
   * Retry throttling (A6), per client: each failed attempt takes a token of `maxTokens`, each success gives back
   * `tokenRatio`; at half the tokens or fewer no retries are made, so a failing dependency is not hit by retry
   * storms. maxTokens must stay above twice the calls that can fail at once — those in flight on one replica when
   * it dies — or some of them are not retried. At most 1000 (grpc-js caps it there).
   */
  readonly throttling: { readonly maxTokens: number; readonly tokenRatio: number };
}

export const DEFAULT_RETRY_SETTINGS: RetrySettings = {
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  retryableCodes: [Status.UNAVAILABLE],
  // 100, not A6's example of 10: with 10, a replica dying with more than 5 calls in flight left all but the first
  // few unretried (the chaos tests measured it). A dependency that is down still stops being retried after about
  // 50 failed attempts (some 17 calls of 3 attempts), and its circuit breaker cuts it off as well.
  throttling: { maxTokens: 100, tokenRatio: 0.1 },
};

/** A6 wants durations as "<seconds>s". */
const seconds = (ms: number) => `${ms / 1000}s`;
/** A6 wants status codes by their proto names, e.g. "UNAVAILABLE". */
const codeNames = (codes: readonly Status[]) =>
  codes.map((code) => (Status[code] as string | undefined) ?? codeName(code));

/**
 * The gRPC service config (gRFC A6 JSON, as grpc-js reads it from `grpc.service_config`) for a client of
 * `methods`: a retry policy for every retryable method, hedging instead for those without side effects when
 * hedgingDelayMs is set, and retry throttling; `loadBalancing` adds the balancing policy. Unsafe methods get no
 * policy. A resolver that supplies its own service config (xDS does) overrides this one.
 */
export function serviceConfigFor(
  methods: readonly MethodInfo[],
  registry: FileRegistry,
  settings: RetrySettings | undefined,
  loadBalancing?: string,
): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (loadBalancing) config["loadBalancingConfig"] = [{ [loadBalancing]: {} }];
  if (!settings || settings.maxAttempts <= 1) return config;
  if (settings.maxAttempts > 5) throw new Error("at most 5 attempts per call (gRFC A6's cap, enforced by grpc-js)");
  const retried: { service: string; method: string }[] = [];
  const hedged: { service: string; method: string }[] = [];
  for (const method of methods) {
    const kind = retryabilityOf(registry, method);
    if (kind === "unsafe") continue;
    const name = { service: method.service, method: method.name };
    // A hedged attempt runs beside the first: only for reads, and never for streams that send many requests.
    if (kind === "no-side-effects" && settings.hedgingDelayMs !== undefined && !method.requestStream) hedged.push(name);
    else retried.push(name);
  }
  const methodConfig: Record<string, unknown>[] = [];
  if (retried.length > 0)
    methodConfig.push({
      name: retried,
      retryPolicy: {
        maxAttempts: settings.maxAttempts,
        initialBackoff: seconds(settings.initialBackoffMs),
        maxBackoff: seconds(settings.maxBackoffMs),
        backoffMultiplier: 2,
        retryableStatusCodes: codeNames(settings.retryableCodes),
      },
    });
  if (hedged.length > 0)
    methodConfig.push({
      name: hedged,
      hedgingPolicy: {
        maxAttempts: settings.maxAttempts,
        hedgingDelay: seconds(settings.hedgingDelayMs ?? 0),
        nonFatalStatusCodes: codeNames(settings.retryableCodes),
      },
    });
  if (methodConfig.length > 0) {
    config["methodConfig"] = methodConfig;
    config["retryThrottling"] = { ...settings.throttling };
  }
  return config;
}
