/**
 * A chosen part of the kit's server chain for the greeter, put together as LatticeServer puts its chain together
 * (selectMethods, the same order), for the benchmarks that price each interceptor (ladder-server.ts over the
 * network, chain-microbench.ts in process). The layers, in chain order:
 *
 *   metrics     grpc_server_* counters and the latency histogram (metricsInterceptor)
 *   logging     the "finished call" line at LOG_CALLS (debug by default: no line for a successful call)
 *   recovery    unexpected errors to INTERNAL (recoveryInterceptor)
 *   auth        bearer tokens (the JWT_* settings) with the cache of verified tokens (serverSecurityInterceptors)
 *   ratelimit   token buckets (RATE_LIMITS; serverSecurityInterceptors)
 *   validation  the contract's field rules on the request bytes (validationInterceptor), with keepRequestBytes on
 *               the definition, which exists for it
 *   scope       handlers run in their call's scope (AsyncLocalStorage), as in every process that has made a Lattice
 *               client: what request ids, deadlines and cancellation propagate through. Process-wide once on.
 */
import {
  createClient,
  DEFAULT_BREAKER_SETTINGS,
  infrastructureMethods,
  not,
  selectMethods,
  serverSecurityInterceptors,
  validationInterceptor,
  type BaseConfig,
  type Interceptor,
  type Logger,
} from "@lattice/kit";
import {
  keepRequestBytes,
  loggingInterceptor,
  metricsInterceptor,
  recoveryInterceptor,
  ServerMetrics,
} from "@lattice/kit/internal";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";

/** The layers a chain may hold, in the order the kit's server chains them. */
export const LADDER_LAYERS = ["metrics", "logging", "recovery", "auth", "ratelimit", "validation", "scope"] as const;
export type LadderLayer = (typeof LADDER_LAYERS)[number];

/** "metrics,logging" → its layers; throws on a name that is not a layer. */
export function parseLayers(list: string): Set<LadderLayer> {
  const layers = new Set<LadderLayer>();
  for (const name of list.split(",").map((s) => s.trim())) {
    if (name === "") continue;
    if (!(LADDER_LAYERS as readonly string[]).includes(name)) throw new Error(`unknown chain layer "${name}"`);
    layers.add(name as LadderLayer);
  }
  return layers;
}

export interface LadderChain {
  readonly interceptors: readonly Interceptor[];
  /** The definition to hand grpc-js: with keepRequestBytes when validation is on. */
  readonly definition: typeof GreeterServiceService;
}

/**
 * The interceptors of `layers`. `config` must hold a JWT key source when auth is wanted and RATE_LIMITS when rate
 * limits are; the other layer's settings are ignored. Turning "scope" on makes a client (never called).
 */
export function ladderChain(layers: ReadonlySet<LadderLayer>, config: BaseConfig, logger: Logger): LadderChain {
  const has = (layer: LadderLayer) => layers.has(layer);
  const jwt = config.JWT_JWKS_FILE ?? config.JWT_JWKS_URL ?? config.JWT_PUBLIC_KEY_FILE;
  if (has("auth") && !jwt) throw new Error("the auth layer needs a JWT key source (JWT_JWKS_FILE, …)");
  if (has("ratelimit") && config.RATE_LIMITS.length === 0) throw new Error("the ratelimit layer needs RATE_LIMITS");
  const metrics = new ServerMetrics();
  const traffic = not(infrastructureMethods);
  const security = serverSecurityInterceptors({
    config: {
      ...config,
      JWT_JWKS_FILE: has("auth") ? config.JWT_JWKS_FILE : undefined,
      JWT_JWKS_URL: has("auth") ? config.JWT_JWKS_URL : undefined,
      JWT_PUBLIC_KEY_FILE: has("auth") ? config.JWT_PUBLIC_KEY_FILE : undefined,
      RATE_LIMITS: has("ratelimit") ? config.RATE_LIMITS : [],
    },
    registry: metrics.registry,
    logger,
  });
  const interceptors: Interceptor[] = [];
  if (has("metrics")) interceptors.push(selectMethods(traffic, metricsInterceptor(metrics)));
  if (has("logging"))
    interceptors.push(selectMethods(traffic, loggingInterceptor({ successLevel: config.LOG_CALLS, logger })));
  if (has("recovery")) interceptors.push(recoveryInterceptor());
  interceptors.push(...security);
  if (has("validation")) interceptors.push(selectMethods(traffic, validationInterceptor()));
  if (has("scope")) createClient(GreeterServiceService, "127.0.0.1:1", { breaker: DEFAULT_BREAKER_SETTINGS }).close();
  return {
    interceptors,
    definition: has("validation") ? keepRequestBytes(GreeterServiceService) : GreeterServiceService,
  };
}
