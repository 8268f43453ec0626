import { startAdminServer } from "../admin/admin-server.js";
import type { BaseConfig } from "../config.js";
import { startHealthServer } from "../health/health-server.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import type { Logger } from "../logger.js";
import { tracingSettings } from "../telemetry/config.js";
import { startTracing } from "../telemetry/tracing.js";
import { LatticeServer } from "./lattice-server.js";
import type { ServiceModule } from "./service-module.js";
import { Releases, setupContext } from "./setup-context.js";

export interface RunningService {
  readonly server: LatticeServer;
  /** Address gRPC clients dial, e.g. "127.0.0.1:50051" or "unix:/tmp/greeter.sock". */
  readonly grpcAddress: string;
  /** Base URL of the admin port, e.g. "http://127.0.0.1:8081". */
  readonly adminUrl: string;
  /** Address of the plaintext gRPC health port, e.g. "127.0.0.1:8091". */
  readonly healthAddress: string;
  /** Graceful shutdown (see LatticeServer.shutdown), then what setup acquired is released; safe to call twice. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  /** Server interceptors before the module's own (tests use this to observe calls). */
  interceptors?: readonly Interceptor[];
  /**
   * Aborts the start: setup stops waiting for dependencies (a database that cannot be reached yet) and the start
   * rejects. runService aborts it on SIGTERM/SIGINT.
   */
  signal?: AbortSignal;
}

/**
 * Starts a service: admin and health ports first (liveness answers while the service starts, readiness says not
 * yet), then setup, then the gRPC port, and only then SERVING. Setup must register exactly the gRPC services the
 * declaration lists. Tracing starts first, when the OTEL_* settings ask for it, so the server and every client and
 * pool setup makes are built with it; its last spans are exported at shutdown, after everything else stopped.
 */
export async function startService<C extends BaseConfig>(
  module: ServiceModule<C>,
  config: C,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningService> {
  const tracing = await startTracing(tracingSettings(config), module.name, logger);
  const server = new LatticeServer({ config, logger, interceptors: options.interceptors });
  const admin = await startAdminServer({
    host: config.ADMIN_HOST,
    port: config.ADMIN_PORT,
    health: server.health,
    metrics: server.metrics,
    logger,
  });
  const healthPort = await startHealthServer({
    host: config.ADMIN_HOST,
    port: config.HEALTH_PORT,
    health: server.health,
    logger,
  }).catch(async (error: unknown) => {
    await admin.close();
    await tracing.shutdown();
    throw error;
  });
  const releases = new Releases();
  try {
    const teardown = await module.setup(setupContext(module, server, config, logger, releases, options.signal));
    if (teardown) releases.add(teardown);
    checkDeclaredServices(module, server.services);
    const grpcAddress = await server.listen();
    server.markServing();
    let stopping: Promise<void> | undefined;
    return {
      server,
      grpcAddress,
      adminUrl: admin.url,
      healthAddress: healthPort.address,
      shutdown() {
        stopping ??= (async () => {
          await server.shutdown();
          try {
            await releases.releaseAll();
          } finally {
            await admin.close();
            healthPort.close();
            await tracing.shutdown();
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    server.transport.close();
    await releases.releaseAll().catch(() => undefined);
    await admin.close();
    healthPort.close();
    await tracing.shutdown();
    throw error;
  }
}

function checkDeclaredServices(
  module: Pick<ServiceModule<BaseConfig>, "name" | "declaration">,
  added: readonly string[],
): void {
  const declared = module.declaration.grpcServices;
  const missing = declared.filter((name) => !added.includes(name));
  const undeclared = added.filter((name) => !declared.includes(name));
  if (missing.length > 0 || undeclared.length > 0)
    throw new Error(
      `${module.name}: setup must add exactly the declared gRPC services (lattice.grpcServices)` +
        (missing.length > 0 ? `; declared but not added: ${missing.join(", ")}` : "") +
        (undeclared.length > 0 ? `; added but not declared: ${undeclared.join(", ")}` : ""),
    );
}
