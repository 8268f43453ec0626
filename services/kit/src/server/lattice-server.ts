import { Server, type ChannelOptions } from "@grpc/grpc-js";
import type { BaseConfig } from "../config.js";
import { HealthRegistry, ServingStatus } from "../health/health-registry.js";
import { healthService, HealthService } from "../health/health-service.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import { loggingInterceptor } from "../interceptors/logging.js";
import { metricsInterceptor } from "../interceptors/metrics.js";
import { recoveryInterceptor } from "../interceptors/recovery.js";
import { infrastructureMethods, not, selectMethods } from "../interceptors/select.js";
import type { Logger } from "../logger.js";
import { ServerMetrics } from "../metrics/server-metrics.js";
import { reflectionServices } from "../reflection/reflection.js";
import { adaptService } from "../rpc/adapt-service.js";
import { applyGrpcJsPatches } from "../rpc/grpc-js-patches.js";
import type { AnyServiceDefinition } from "../rpc/definition.js";
import type { ServiceImplementation } from "../rpc/implementation.js";
import { methodInfo } from "../rpc/method.js";
import { keepRequestBytes } from "../validation/request-bytes.js";
import { validationInterceptor } from "../validation/validation-interceptor.js";
import type { SecurityConfig } from "../security/config.js";
import type { MethodPolicy } from "../security/method-policies.js";
import { serverSecurityInterceptors } from "../security/server-security.js";
import { TransportSecurity } from "../security/transport.js";
import { serverTracingInterceptor } from "../telemetry/rpc-spans.js";
import { tracingEnabled } from "../telemetry/tracing.js";
import { grpcAddress } from "./address.js";

export type ServerConfig = Pick<
  BaseConfig,
  | "GRPC_HOST"
  | "GRPC_PORT"
  | "LOG_CALLS"
  | "SHUTDOWN_DRAIN_MS"
  | "SHUTDOWN_TIMEOUT_MS"
  | "GRPC_MAX_CONNECTION_AGE_MS"
  | "GRPC_MAX_CONNECTION_AGE_GRACE_MS"
  | "GRPC_KEEPALIVE_TIME_MS"
  | "GRPC_KEEPALIVE_TIMEOUT_MS"
  | "GRPC_MAX_RECEIVE_MESSAGE_BYTES"
> &
  SecurityConfig;

export interface LatticeServerOptions {
  config: ServerConfig;
  logger: Logger;
  metrics?: ServerMetrics;
  /** Interceptors after the kit's own, as if given to use() first. */
  interceptors?: readonly Interceptor[];
  /** Method policies by path, instead of those declared in the contracts (tests). */
  policies?: ReadonlyMap<string, MethodPolicy>;
}

interface Registration {
  readonly definition: AnyServiceDefinition;
  readonly implementation: ServiceImplementation<AnyServiceDefinition>;
}

/**
 * A grpc-js server with the kit's spine: the interceptor chain around every method, gRPC health with real
 * statuses, reflection, connection management, and a shutdown that drains before it stops.
 *
 * The chain, outermost first: tracing (when on) → metrics → logging → recovery → auth → rate limit → validation →
 * what use() added → handler. Tracing comes first so everything after it, the "finished call" line included, runs
 * in the call's span. Tracing, metrics, logging, auth, rate limits and validation skip health and reflection (selected with
 * `not(infrastructureMethods)`): probes every few seconds are not traffic worth a log line or a latency sample, and
 * must work without credentials. Auth comes before validation, so a caller who may not call a method learns nothing
 * about its fields; auth and rate limits are in the chain only when configured (docs/security.md). Validation
 * enforces each method's contract (field rules declared in its .proto, and the rules every field gets) on the bytes
 * the deserializer hook kept, so handlers and the interceptors added with use() see only valid requests. Request ids
 * need no interceptor: the call context makes one when it is first used.
 *
 * The gRPC port is plaintext, TLS or mutual TLS (TLS_MODE); with TLS it binds only once the certificate files are
 * usable, so readiness waits for them.
 */
export class LatticeServer {
  readonly health = new HealthRegistry();
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** The credentials of the gRPC port and of the clients this process makes (setup's connect uses them). */
  readonly transport: TransportSecurity;
  private readonly grpc: Server;
  private readonly config: ServerConfig;
  private readonly kitInterceptors: readonly Interceptor[];
  private readonly added: Interceptor[] = [];
  private readonly registrations: Registration[] = [];
  private readonly serviceNames: string[] = [];
  private address: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: LatticeServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.metrics = options.metrics ?? new ServerMetrics();
    const traffic = not(infrastructureMethods);
    this.kitInterceptors = [
      ...(tracingEnabled() ? [selectMethods(traffic, serverTracingInterceptor())] : []),
      selectMethods(traffic, metricsInterceptor(this.metrics)),
      selectMethods(traffic, loggingInterceptor({ successLevel: this.config.LOG_CALLS, logger: this.logger })),
      recoveryInterceptor(),
      ...serverSecurityInterceptors({
        config: this.config,
        registry: this.metrics.registry,
        logger: this.logger,
        policies: options.policies,
      }),
      selectMethods(traffic, validationInterceptor()),
    ];
    this.transport = new TransportSecurity(this.config, this.logger);
    this.added.push(...(options.interceptors ?? []));
    applyGrpcJsPatches(); // long deadlines, compressed flags: see rpc/grpc-js-patches.ts
    this.grpc = new Server(channelOptions(this.config));
  }

  /**
   * Adds server interceptors, after the kit's own and those added before, for every method of every service
   * (limit one to some methods with selectMethods). What they throw is counted, logged and sent as a proper
   * status. Call before listen().
   */
  use(...interceptors: readonly Interceptor[]): this {
    this.assertNotListening("use");
    this.added.push(...interceptors);
    return this;
  }

  /** Registers a service; its health status is NOT_SERVING until markServing(). */
  addService<D extends AnyServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): this {
    this.assertNotListening("addService");
    const first = Object.values(definition)[0];
    if (!first) throw new Error("service definition has no methods");
    const name = methodInfo(first.path, first.requestStream, first.responseStream).service;
    if (this.serviceNames.includes(name)) throw new Error(`${name} is already added`);
    this.registrations.push({ definition, implementation });
    this.serviceNames.push(name);
    this.health.set(name, ServingStatus.NOT_SERVING);
    return this;
  }

  /** Names of the services added so far. */
  get services(): readonly string[] {
    return this.serviceNames;
  }

  /** Every interceptor a method goes through, outermost first (the health port uses the same chain). */
  get interceptors(): readonly Interceptor[] {
    return [...this.kitInterceptors, ...this.added];
  }

  /** Builds every method's chain, binds the gRPC port (or unix socket) and resolves with the address to dial. */
  async listen(): Promise<string> {
    this.assertNotListening("listen");
    const options = { interceptors: this.interceptors, logger: this.logger };
    const services: Registration[] = [
      ...this.registrations,
      { definition: HealthService, implementation: healthService(this.health) as never },
      ...reflectionServices([...this.serviceNames, "grpc.health.v1.Health"]),
    ];
    for (const { definition, implementation } of services)
      this.grpc.addService(keepRequestBytes(definition), adaptService(definition, implementation, options));

    const target = grpcAddress(this.config.GRPC_HOST, this.config.GRPC_PORT);
    let port: number;
    try {
      // grpc-js drops connections that arrive before its credentials are loaded: bind once they are.
      await this.transport.ready();
      port = await new Promise<number>((resolve, reject) =>
        this.grpc.bindAsync(target, this.transport.serverCredentials(), (error, bound) =>
          error ? reject(new Error(`cannot listen on ${target}: ${error.message}`)) : resolve(bound),
        ),
      );
    } catch (error) {
      this.transport.close();
      throw error;
    }
    this.address = target.startsWith("unix:") ? target : grpcAddress(this.config.GRPC_HOST, port);
    return this.address;
  }

  /** Reports every service SERVING: call once dependencies are reachable and the service can take traffic. */
  markServing(): void {
    this.health.setAll(ServingStatus.SERVING);
  }

  /**
   * Stops gracefully: readiness and every service turn NOT_SERVING at once (load balancers stop routing here), new
   * calls are still served for the drain window, then the server stops accepting and waits for in-flight calls
   * (open streams included) up to the shutdown timeout, after which remaining calls are cancelled.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private assertNotListening(what: string): void {
    if (this.address !== undefined) throw new Error(`${what} must be called before listen()`);
  }

  private async stop(): Promise<void> {
    const { SHUTDOWN_DRAIN_MS: drainMs, SHUTDOWN_TIMEOUT_MS: timeoutMs } = this.config;
    this.health.setAll(ServingStatus.NOT_SERVING);
    this.logger.info({ drain_ms: drainMs }, "shutting down: not serving, draining");
    await sleep(drainMs);

    this.health.close();
    this.logger.info({ timeout_ms: timeoutMs }, "shutting down: refusing new calls, waiting for in-flight calls");
    const graceful = new Promise<boolean>((resolve) => this.grpc.tryShutdown(() => resolve(true)));
    const finished = await Promise.race([graceful, sleep(timeoutMs).then(() => false)]);
    if (!finished) {
      this.logger.warn("shutting down: timeout reached, cancelling the calls still running");
      this.grpc.forceShutdown();
    }
    this.transport.close();
    this.logger.info("shut down");
  }
}

function channelOptions(config: ServerConfig): ChannelOptions {
  return {
    "grpc.max_connection_age_ms": config.GRPC_MAX_CONNECTION_AGE_MS,
    "grpc.max_connection_age_grace_ms": config.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    "grpc.keepalive_time_ms": config.GRPC_KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": config.GRPC_KEEPALIVE_TIMEOUT_MS,
    "grpc.max_receive_message_length": config.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
