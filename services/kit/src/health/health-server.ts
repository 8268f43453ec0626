import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import { adaptService } from "../rpc/adapt-service.js";
import { WITHOUT_CHANNELZ } from "../rpc/channelz.js";
import { applyGrpcJsPatches } from "../rpc/grpc-js-patches.js";
import { grpcAddress } from "../server/address.js";
import { keepRequestBytes } from "../validation/request-bytes.js";
import type { HealthRegistry } from "./health-registry.js";
import { healthService, HealthService } from "./health-service.js";

export interface HealthServerOptions {
  host: string;
  port: number;
  health: HealthRegistry;
  logger: Logger;
}

export interface HealthServer {
  /** Address to dial, e.g. "127.0.0.1:8091". */
  readonly address: string;
  close(): void;
}

/**
 * grpc.health.v1.Health alone on a plaintext port, for kubelet's `grpc:` probes (numeric port, no TLS) and the
 * health-probe command. It reads the same registry as the gRPC port, so it turns NOT_SERVING at the same moment, and
 * it stays up until the very end of a shutdown so probes see the drain instead of a refused connection.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  applyGrpcJsPatches();
  const server = new Server(WITHOUT_CHANNELZ);
  server.addService(
    keepRequestBytes(HealthService),
    adaptService(HealthService, healthService(options.health), { interceptors: [], logger: options.logger }),
  );
  const target = grpcAddress(options.host, options.port);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(new Error(`cannot listen on ${target} (health): ${error.message}`)) : resolve(bound),
    ),
  );
  return {
    address: grpcAddress(options.host, port),
    // Health calls are short; open Watch streams end when the registry closes, so a plain forced stop is enough.
    close: () => server.forceShutdown(),
  };
}
