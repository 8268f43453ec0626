import CircuitBreaker from "opossum";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import { statusOf } from "../errors/status-of.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import { whenFinished } from "../interceptors/outcome.js";
import type { Logger } from "../logger.js";
import { BREAKER_STATE_VALUE, ClientMetrics, type BreakerState } from "../metrics/client-metrics.js";
import type { MethodInfo } from "../rpc/method.js";

/** When a target's method is cut off, and for how long. */
export interface BreakerSettings {
  /** Opens when more than this share (%) of the counted outcomes in the window are failures. */
  readonly errorThresholdPercent: number;
  /** Counted outcomes the window must hold before the breaker may open. */
  readonly volumeThreshold: number;
  /** The rolling window (ms), in `buckets` slices. */
  readonly windowMs: number;
  readonly buckets: number;
  /** Open this long (ms), then half-open: one call goes through as a probe; its success closes the breaker. */
  readonly resetTimeoutMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  errorThresholdPercent: 50,
  volumeThreshold: 10,
  windowMs: 10_000,
  buckets: 10,
  resetTimeoutMs: 5_000,
};

/**
 * Codes that say the dependency itself is in trouble. Everything else — INVALID_ARGUMENT, NOT_FOUND,
 * FAILED_PRECONDITION, PERMISSION_DENIED, … — is the caller's business and says nothing about the dependency's
 * health. CANCELLED is the caller giving up.
 */
export const DEPENDENCY_FAILURES: ReadonlySet<Status> = new Set([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.INTERNAL,
  Status.UNKNOWN,
  Status.RESOURCE_EXHAUSTED,
]);

/**
 * What a call's end says about the dependency: it worked; it failed; it answered with a verdict on the request (a
 * client mistake: the dependency is up, but the call says nothing about its health); or nothing (the caller
 * cancelled).
 */
type Outcome = "success" | "failure" | "answered" | "unknown";

function outcomeOf(error: unknown): Outcome {
  if (error === undefined) return "success";
  const code = statusOf(error);
  if (DEPENDENCY_FAILURES.has(code)) return "failure";
  return code === Status.CANCELLED ? "unknown" : "answered";
}

export interface CircuitBreakers {
  /** The kit's breaker interceptor for the client; one breaker per method. */
  readonly interceptor: Interceptor;
  /** Stops the breakers' timers (when the client closes). */
  shutdown(): void;
}

/**
 * Circuit breakers for the methods of one target, as a client interceptor: opossum keeps each breaker's state
 * (closed → open → half-open → closed), its rolling window and its reset timer.
 *
 * Only outcomes that say something about the dependency's health reach opossum, and only after the call ended: a
 * success, or a failure with one of DEPENDENCY_FAILURES. A client mistake (INVALID_ARGUMENT, NOT_FOUND, …) or a
 * caller's cancellation is not reported at all — reporting it through opossum's errorFilter would count it as a
 * success, diluting the failure share, so a flood of bad requests could hold an open-worthy breaker closed. While
 * half-open one call at a time goes through as the probe; any answer from the dependency but a failure closes it.
 *
 * Refused calls fail at once (no network, no timer) with UNAVAILABLE, a message naming the dependency and a
 * RetryInfo saying when the breaker will let a probe through. opossum's own timeout is off: gRPC deadlines bound calls.
 */
export function circuitBreakers(
  target: string,
  settings: BreakerSettings,
  options: { metrics?: ClientMetrics; logger?: Logger } = {},
): CircuitBreakers {
  const all: CircuitBreaker[] = [];
  const interceptor: Interceptor = (next, method) => {
    const breaker = newBreaker(target, method, settings, options);
    all.push(breaker.opossum);
    return (input, ctx) => {
      const refusal = breaker.admit();
      if (refusal) return Promise.reject(refusal);
      return whenFinished(method, ctx, next(input, ctx), (error) => breaker.report(outcomeOf(error)));
    };
  };
  return {
    interceptor,
    shutdown: () => {
      for (const breaker of all.splice(0)) breaker.shutdown();
    },
  };
}

interface MethodBreaker {
  readonly opossum: CircuitBreaker;
  /** undefined when the call may go; else the error to refuse it with. */
  admit(): GrpcError | undefined;
  report(outcome: Outcome): void;
}

function newBreaker(
  target: string,
  method: MethodInfo,
  settings: BreakerSettings,
  options: { metrics?: ClientMetrics; logger?: Logger },
): MethodBreaker {
  // The action only turns a reported outcome into opossum's success or failure; the call itself ran already.
  const opossum = new CircuitBreaker((failed: boolean) => (failed ? Promise.reject(FAILED) : Promise.resolve()), {
    name: `${target} ${method.path}`,
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercent,
    volumeThreshold: settings.volumeThreshold,
    rollingCountTimeout: settings.windowMs,
    rollingCountBuckets: settings.buckets,
    resetTimeout: settings.resetTimeoutMs,
    rollingPercentilesEnabled: false,
  });
  const labels = ClientMetrics.labels(target, method);
  const log = options.logger?.child({ target, "grpc.service": method.service, "grpc.method": method.name });
  let openedAt = 0;
  let probing = false;
  const enter = (state: BreakerState) => {
    options.metrics?.breakerState.set(labels, BREAKER_STATE_VALUE[state]);
    options.metrics?.breakerTransitions.inc({ ...labels, state });
  };
  options.metrics?.breakerState.set(labels, BREAKER_STATE_VALUE.closed);
  opossum.on("open", () => {
    openedAt = Date.now();
    probing = false;
    enter("open");
    log?.warn({ reset_timeout_ms: settings.resetTimeoutMs }, `circuit open: refusing calls to ${target}`);
  });
  opossum.on("halfOpen", () => {
    enter("half_open");
    log?.info(`circuit half-open: probing ${target}`);
  });
  opossum.on("close", () => {
    probing = false;
    enter("closed");
    log?.info(`circuit closed: calling ${target} again`);
  });
  return {
    opossum,
    admit() {
      if (opossum.closed) return undefined;
      if (opossum.halfOpen && !probing) {
        probing = true;
        return undefined;
      }
      options.metrics?.breakerRejections.inc(labels);
      const waitMs = Math.max(0, openedAt + settings.resetTimeoutMs - Date.now());
      return new GrpcError(
        Status.UNAVAILABLE,
        `${target} is failing: circuit breaker open for ${method.path}, call not sent`,
        [
          {
            type: "RetryInfo",
            value: { retryDelay: { seconds: Math.floor(waitMs / 1000), nanos: (waitMs % 1000) * 1e6 } },
          },
        ],
      );
    },
    report(outcome) {
      const probe = opossum.halfOpen && probing;
      if (outcome === "unknown" || (outcome === "answered" && !probe)) {
        // Not counted. A probe that was cancelled proved nothing: the next call probes instead.
        if (probe) probing = false;
        return;
      }
      // An answer to the probe, even a client mistake, shows the dependency is back. A report that finds the
      // breaker open (it opened meanwhile) is refused by opossum and dropped: fine.
      opossum.fire(outcome === "failure").catch(() => undefined);
      if (probe && outcome === "failure") probing = false;
    },
  };
}

const FAILED = new Error("dependency failure");
