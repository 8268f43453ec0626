/**
 * The greeter behind Lattice's adapter with the part of the kit's server chain BENCH_CHAIN names (comma-separated
 * layers of ladder-chain.ts; empty: the adapter alone), so `npm run bench` can price each interceptor over the
 * network. Put together as LatticeServer does — the grpc-js patches, the same channel options, the adapter —
 * without health, reflection or the admin port, none of which a Greet call touches. Reads the kit's settings from
 * the environment (GRPC_PORT, LOG_*, JWT_*, RATE_LIMITS); logs go to stdout.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { baseConfigSchema, createLogger, loadConfig } from "@lattice/kit";
import { adaptService, applyGrpcJsPatches } from "@lattice/kit/internal";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "../src/handler.js";
import { ladderChain, parseLayers } from "./ladder-chain.js";

const config = loadConfig(baseConfigSchema);
const logger = createLogger({ service: "greeter", level: config.LOG_LEVEL, format: "json" });
const layers = parseLayers(process.env["BENCH_CHAIN"] ?? "");
const { interceptors, definition } = ladderChain(layers, config, logger);

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
