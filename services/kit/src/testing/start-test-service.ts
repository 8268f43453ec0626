import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type BaseConfig } from "../config.js";
import { createClient, type ClientOptions, type ServiceClient } from "../client/create-client.js";
import type { Interceptor } from "../interceptors/interceptor.js";
import { createLogger } from "../logger.js";
import type { AnyServiceDefinition } from "../rpc/definition.js";
import type { LatticeServer } from "../server/lattice-server.js";
import type { ServiceModule } from "../server/service-module.js";
import { startService } from "../server/start-service.js";

export interface TestServiceOptions {
  /** Environment the service's config is read from, on top of test defaults (loopback, ephemeral ports, no drain). */
  env?: Readonly<Record<string, string>>;
  /** Listen on a fresh unix socket instead of a loopback TCP port. */
  unixSocket?: boolean;
  interceptors?: readonly Interceptor[];
}

/** One parsed JSON log line. */
export type LogRecord = Record<string, unknown> & { level: number; msg: string };

export interface TestService {
  readonly grpcAddress: string;
  readonly adminUrl: string;
  /** The plaintext gRPC health port, as kubelet probes it. */
  readonly healthAddress: string;
  readonly server: LatticeServer;
  /** Every log line the service wrote so far. */
  readonly logs: readonly LogRecord[];
  /** A typed client for one of the service's contracts, closed with the service. */
  client<D extends AnyServiceDefinition>(definition: D, options?: ClientOptions): ServiceClient<D>;
  /** Graceful shutdown, exactly as on SIGTERM. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Runs a service in the test's process the way its main runs it (same module, same start-up and shutdown), on an
 * ephemeral loopback port or a unix socket, so tests need no fixed ports and can run in parallel.
 */
export async function startTestService<C extends BaseConfig>(
  module: ServiceModule<C>,
  options: TestServiceOptions = {},
): Promise<TestService> {
  const socket = options.unixSocket ? join(tmpdir(), `lattice-${randomUUID()}.sock`) : undefined;
  const config = loadConfig(module.configSchema, {
    GRPC_HOST: socket ? `unix:${socket}` : "127.0.0.1",
    GRPC_PORT: "0",
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "0",
    HEALTH_PORT: "0",
    SHUTDOWN_DRAIN_MS: "0",
    SHUTDOWN_TIMEOUT_MS: "5000",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
    ...options.env,
  });
  const logs: LogRecord[] = [];
  const destination = { write: (line: string) => void logs.push(JSON.parse(line) as LogRecord) };
  const logger = createLogger({ service: module.name, level: config.LOG_LEVEL, format: "json", destination });
  const running = await startService(module, config, logger, { interceptors: options.interceptors });

  const clients: ServiceClient<AnyServiceDefinition>[] = [];
  const shutdown = async () => {
    // Clients stay open while the service drains, as real ones would; they are closed once it has stopped.
    await running.shutdown();
    for (const client of clients) client.close();
    if (socket) rmSync(socket, { force: true });
  };
  return {
    grpcAddress: running.grpcAddress,
    adminUrl: running.adminUrl,
    healthAddress: running.healthAddress,
    server: running.server,
    logs,
    client(definition, clientOptions) {
      const client = createClient(definition, running.grpcAddress, clientOptions);
      clients.push(client as unknown as ServiceClient<AnyServiceDefinition>);
      return client;
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
