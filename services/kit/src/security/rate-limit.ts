import { Counter, Gauge, type Registry } from "prom-client";
import type { ErrorDetail } from "../errors/details.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import type { CallContext } from "../rpc/call-context.js";
import { PRINCIPAL } from "./auth-interceptor.js";
import { linkerdClientIdentity, type PeerIdentity } from "./peer-identity.js";
import { ruleFor, type RateLimitRule } from "./rate-limit-rules.js";

/** Idle buckets are dropped at most this often: a full bucket is the same as none, and callers come and go. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Token buckets of one rule, one per caller: each holds up to `burst` tokens, refilled continuously at `perSecond`,
 * and a call takes one. Unlike a fixed window (rate-limiter-flexible's memory limiter), a bucket never lets a
 * caller through twice its rate across a window boundary, and the wait it reports is exact. State is per process:
 * with N replicas a caller spread over all of them gets up to N times the rate.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep: number;

  constructor(
    readonly rule: RateLimitRule,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastSweep = now();
  }

  /** Takes a token for `key`: 0 when the call may go ahead, else the milliseconds until a token is there. */
  take(key: string): number {
    const now = this.now();
    if (now - this.lastSweep > SWEEP_EVERY_MS) this.sweep(now);
    const { perSecond, burst } = this.rule;
    const bucket = this.buckets.get(key);
    const tokens = bucket ? Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond) : burst;
    if (tokens >= 1) {
      if (bucket) {
        bucket.tokens = tokens - 1;
        bucket.at = now;
      } else this.buckets.set(key, { tokens: tokens - 1, at: now });
      return 0;
    }
    return Math.ceil(((1 - tokens) / perSecond) * 1000);
  }

  /** Callers currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const { perSecond, burst } = this.rule;
    for (const [key, bucket] of this.buckets)
      if (bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst) this.buckets.delete(key);
  }
}

/** Where a caller without a token or a client certificate is identified from (MESH_IDENTITY). */
export type MeshIdentity = "none" | "linkerd";

/**
 * Who a call is counted against: the subject of its verified token, else the service its client certificate
 * names, else — with `mesh` linkerd — the workload identity Linkerd's proxy gives (l5d-client-id), else its address
 * without the port (one bucket per client host).
 */
export function callerKey(ctx: CallContext, mesh: MeshIdentity = "none"): string {
  const principal = ctx.values.get(PRINCIPAL);
  if (principal) return `user:${principal.subject}`;
  const peer = ctx.peerIdentity;
  if (peer) return `service:${serviceKey(peer)}`;
  const workload = meshWorkload(ctx, mesh);
  if (workload) return `workload:${workload}`;
  return `address:${hostOf(ctx.peer)}`;
}

/** The mesh's identity of the calling workload, when MESH_IDENTITY trusts one and the call carries it. */
function meshWorkload(ctx: CallContext, mesh: MeshIdentity): string | undefined {
  return mesh === "linkerd" ? linkerdClientIdentity(ctx.requestHeader)?.dnsNames[0] : undefined;
}

function serviceKey(peer: PeerIdentity): string {
  return peer.spiffeId ?? peer.service ?? peer.dnsNames[0] ?? "";
}

/** "10.0.0.7:41234" → "10.0.0.7"; a unix socket's address whole. */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  return colon > 0 && !address.startsWith("unix:") ? address.slice(0, colon) : address;
}

/**
 * The buckets of one method's callers (callerKey), one set per kind of caller, so a caller's bucket is found by its
 * subject, service or host alone. A verified token's subject is the same string on every call its cached principal
 * serves, whose hash the Map keeps: looking it up costs nothing like building and hashing a new key each call.
 */
class CallerBuckets {
  private readonly users: TokenBuckets;
  private readonly services: TokenBuckets;
  private readonly workloads: TokenBuckets;
  private readonly addresses: TokenBuckets;

  constructor(
    rule: RateLimitRule,
    private readonly mesh: MeshIdentity,
  ) {
    this.users = new TokenBuckets(rule);
    this.services = new TokenBuckets(rule);
    this.workloads = new TokenBuckets(rule);
    this.addresses = new TokenBuckets(rule);
  }

  /** TokenBuckets.take for the call's caller. */
  take(ctx: CallContext): number {
    const principal = ctx.values.get(PRINCIPAL);
    if (principal) return this.users.take(principal.subject);
    const peer = ctx.peerIdentity;
    if (peer) return this.services.take(serviceKey(peer));
    const workload = meshWorkload(ctx, this.mesh);
    if (workload) return this.workloads.take(workload);
    return this.addresses.take(hostOf(ctx.peer));
  }
}

/** The rate-limit series, registered once per registry. */
export class RateLimitMetrics {
  readonly rejected: Counter<"grpc_service" | "grpc_method">;
  readonly rate: Gauge<"grpc_service" | "grpc_method">;
  readonly burst: Gauge<"grpc_service" | "grpc_method">;

  constructor(registry: Registry) {
    const labelNames = ["grpc_service", "grpc_method"] as const;
    this.rejected = new Counter({
      name: "lattice_rate_limit_rejected_total",
      help: "Calls refused with RESOURCE_EXHAUSTED by the rate limit of their method.",
      labelNames,
      registers: [registry],
    });
    this.rate = new Gauge({
      name: "lattice_rate_limit_tokens_per_second",
      help: "Sustained calls per second allowed to each caller of the method (RATE_LIMITS).",
      labelNames,
      registers: [registry],
    });
    this.burst = new Gauge({
      name: "lattice_rate_limit_burst",
      help: "Calls a caller of the method may make at once after being idle (RATE_LIMITS).",
      labelNames,
      registers: [registry],
    });
  }
}

/**
 * Applies RATE_LIMITS: each call of a limited method takes a token from its caller's bucket (callerKey), or fails
 * with RESOURCE_EXHAUSTED carrying RetryInfo (when a token will be there) and QuotaFailure. Methods without a rule
 * get nothing in their chain. Put it after authentication, so tokens identify callers.
 */
export function rateLimitInterceptor(
  rules: readonly RateLimitRule[],
  metrics: RateLimitMetrics,
  mesh: MeshIdentity = "none",
): Interceptor {
  return (next, method) => {
    const rule = ruleFor(rules, method);
    if (!rule) return next;
    // Every method has buckets of its own, also where one rule covers several.
    const buckets = new CallerBuckets(rule, mesh);
    const labels = { grpc_service: method.service, grpc_method: method.name };
    metrics.rate.set(labels, rule.perSecond);
    metrics.burst.set(labels, rule.burst);
    const rejected = metrics.rejected.labels(labels);
    return (input, ctx) => {
      const waitMs = buckets.take(ctx);
      if (waitMs === 0) return next(input, ctx);
      rejected.inc();
      const key = callerKey(ctx, mesh);
      const limit = `${rule.perSecond} calls/s, burst ${rule.burst}`;
      const details: ErrorDetail[] = [
        retryInfo(waitMs),
        {
          type: "QuotaFailure",
          value: {
            violations: [
              {
                subject: key,
                description: `${method.path}: ${limit} per caller`,
                apiService: method.service,
                quotaMetric: "calls",
                quotaId: rule.selector,
                quotaDimensions: { method: method.path },
                quotaValue: rule.burst,
              },
            ],
          },
        },
      ];
      return Promise.reject(
        new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `rate limit of ${method.name} reached (${limit}); retry in ${waitMs} ms`,
          details,
        ),
      );
    };
  };
}

function retryInfo(ms: number): ErrorDetail {
  const seconds = Math.floor(ms / 1000);
  return { type: "RetryInfo", value: { retryDelay: { seconds, nanos: (ms - seconds * 1000) * 1_000_000 } } };
}
