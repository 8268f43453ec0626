import {
  createLogger,
  loadConfig,
  startService,
  type BaseConfig,
  type RunningService,
  type ServiceModule,
} from "@lattice/kit";

/**
 * Starts `module` inside this process the way runService starts it in its own, but on free loopback ports and with
 * no drain on shutdown (no load balancer routes to it), so an example can run its services and its caller side by
 * side. Logs are JSON lines on stdout at `warn` unless `env` sets LOG_LEVEL; `env` also carries peer addresses
 * (<NAME>_SERVICE_ADDRESS), NATS_URL and the like.
 */
export async function startLocal<C extends BaseConfig>(
  module: ServiceModule<C>,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningService> {
  const config = loadConfig(module.configSchema, {
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "0",
    HEALTH_PORT: "0",
    SHUTDOWN_DRAIN_MS: "0",
    LOG_LEVEL: "warn",
    ...env,
  });
  const logger = createLogger({ service: module.name, level: config.LOG_LEVEL, format: "json" });
  return startService(module, config, logger);
}
