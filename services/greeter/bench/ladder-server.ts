/**
 * The greeter behind Lattice's adapter with a chosen part of the kit's server chain, so `npm run bench` can price
 * each interceptor: BENCH_CHAIN lists the layers in chain order, comma-separated (empty: the adapter alone).
 *
 *   metrics     grpc_server_* counters and the latency histogram (metricsInterceptor)
 *   logging     the "finished call" line at LOG_CALLS (debug by default: no line for a successful call)
 *   recovery    unexpected errors to INTERNAL (recoveryInterceptor)
 *   auth        bearer tokens (JWT_* settings) with the cache of verified tokens — from serverSecurityInterceptors
 *   ratelimit   token buckets (RATE_LIMITS) — from serverSecurityInterceptors
 *   validation  the contract's field rules on the request bytes (validationInterceptor, with keepRequestBytes,
 *               which exists for it)
 *   scope       handlers run in their call's scope (AsyncLocalStorage), as in every process that has made a
 *               Lattice client: what request ids, deadlines and cancellation propagate through
 *
 * It is put together as LatticeServer does (the grpc-js patches, the same channel options, selectMethods,
 * adaptService), without health, reflection or the admin port, none of which a Greet call touches. Reads the kit's
 * settings from the environment (GRPC_PORT, LOG_*, JWT_*, RATE_LIMITS): "auth" needs a JWT key source set and
 * "ratelimit" needs RATE_LIMITS, and either setting without its layer is refused. Logs go to stdout.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import {
  baseConfigSchema,
  createClient,
  createLogger,
  DEFAULT_BREAKER_SETTINGS,
  infrastructureMethods,
  loadConfig,
  not,
  selectMethods,
  serverSecurityInterceptors,
  validationInterceptor,
  type Interceptor,
} from "@lattice/kit";
import {
  adaptService,
  applyGrpcJsPatches,
  keepRequestBytes,
  loggingInterceptor,
  metricsInterceptor,
  recoveryInterceptor,
  ServerMetrics,
} from "@lattice/kit/internal";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "../src/handler.js";

/** The layers BENCH_CHAIN may name, in the order the kit's server chains them. */
const LADDER_LAYERS = ["metrics", "logging", "recovery", "auth", "ratelimit", "validation", "scope"] as const;
type Layer = (typeof LADDER_LAYERS)[number];

const layers = new Set(
  (process.env["BENCH_CHAIN"] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== ""),
);
for (const name of layers)
  if (!(LADDER_LAYERS as readonly string[]).includes(name)) throw new Error(`BENCH_CHAIN: unknown layer "${name}"`);
const has = (layer: Layer) => layers.has(layer);

const config = loadConfig(baseConfigSchema);
const jwt = Boolean(config.JWT_JWKS_FILE ?? config.JWT_JWKS_URL ?? config.JWT_PUBLIC_KEY_FILE);
if (jwt !== has("auth")) throw new Error("BENCH_CHAIN: the auth layer goes with a JWT key source, and only with it");
if (config.RATE_LIMITS.length > 0 !== has("ratelimit"))
  throw new Error("BENCH_CHAIN: the ratelimit layer goes with RATE_LIMITS, and only with it");
const logger = createLogger({ service: "greeter", level: config.LOG_LEVEL, format: "json" });
const metrics = new ServerMetrics();
const traffic = not(infrastructureMethods);
const security = serverSecurityInterceptors({ config, registry: metrics.registry, logger });
const interceptors: Interceptor[] = [];
if (has("metrics")) interceptors.push(selectMethods(traffic, metricsInterceptor(metrics)));
if (has("logging"))
  interceptors.push(selectMethods(traffic, loggingInterceptor({ successLevel: config.LOG_CALLS, logger })));
if (has("recovery")) interceptors.push(recoveryInterceptor());
if (has("auth") || has("ratelimit")) interceptors.push(...security);
if (has("validation")) interceptors.push(selectMethods(traffic, validationInterceptor()));
// A client the process never calls: making one is what turns the call scope on.
if (has("scope")) createClient(GreeterServiceService, "127.0.0.1:1", { breaker: DEFAULT_BREAKER_SETTINGS }).close();

const definition = has("validation") ? keepRequestBytes(GreeterServiceService) : GreeterServiceService;
applyGrpcJsPatches();
const server = new Server({
  "grpc.max_connection_age_ms": config.GRPC_MAX_CONNECTION_AGE_MS,
  "grpc.max_connection_age_grace_ms": config.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
  "grpc.keepalive_time_ms": config.GRPC_KEEPALIVE_TIME_MS,
  "grpc.keepalive_timeout_ms": config.GRPC_KEEPALIVE_TIMEOUT_MS,
  "grpc.max_receive_message_length": config.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
});
server.addService(definition, adaptService(GreeterServiceService, greeterHandler(), { interceptors, logger }));
server.bindAsync(`127.0.0.1:${config.GRPC_PORT}`, ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  logger.info({ grpc: `127.0.0.1:${port}`, chain: [...layers] }, "serving");
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
